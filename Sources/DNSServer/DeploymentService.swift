import ServerConfig
public import ServiceLifecycle
import UnixSignals

/// Runs the deployment controller as a service: starts its monitor, reloads on every SIGHUP,
/// samples the answer totals for the status page's shares, signs zones signed online again before
/// their signatures expire, and at shutdown stops the monitor and leaves the fleet.
public struct DeploymentService: Service {
    let controller: DeploymentController

    public init(controller: DeploymentController) { self.controller = controller }

    public func run() async throws {
        try await controller.start()
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        let controller = controller
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                group.addTask {
                    while !Task.isCancelled {
                        await controller.sampleAnswers()
                        try? await Task.sleep(for: DeploymentController.shareSampleInterval)
                    }
                }
                group.addTask {
                    for await _ in hangups { await controller.reload() }
                }
                group.addTask {
                    // Zones signed online: their signatures made again before they expire.
                    while !Task.isCancelled {
                        try? await Task.sleep(for: await controller.untilNextResign() ?? .seconds(DeploymentController.resignCheck))
                        await controller.resignIfDue()
                    }
                }
                if let interval = await controller.deployment.config.watchZones {
                    group.addTask {
                        while !Task.isCancelled {
                            try? await Task.sleep(for: interval)
                            await controller.reloadIfZoneFilesChanged()
                        }
                    }
                }
            }
        }
        await controller.stop()
        await controller.leaveFleet()
    }
}
