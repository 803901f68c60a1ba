import Logging
import ServerConfig

extension DeploymentController {
    /// `watch-zones`: reloads when a zone file differs from the one serving and has not changed
    /// since the previous poll (so a file still being written is not read half-way). A reload that
    /// fails is not retried until a file changes again. Files pulled in with `$INCLUDE` are not watched.
    func reloadIfZoneFilesChanged() async {
        let now = deployment.config.zones.map { FileStamp(path: $0.file) }
        defer { watchedStamps = now }
        let serving = deployment.config.zones.map { deployment.stamps[$0.file] }
        guard now != serving, now == watchedStamps, now != failedStamps else { return }
        logger.notice("zone file changed on disk: reloading")
        failedStamps = await reload().isEmpty ? nil : now
    }
}
