import Foundation
import QueryEngine

extension DeploymentController {
    /// The window of the answer shares on the status page, in seconds.
    public static let shareWindow = 300.0
    static let shareSampleInterval: Duration = .seconds(10)

    /// Takes a sample of the routed-answer totals and drops those older than the share window.
    func sampleAnswers() {
        let now = Date().timeIntervalSince1970
        answerSamples.append((now, server.answerTotals()))
        answerSamples.removeAll { now - $0.at > Self.shareWindow + 30 }
    }

    /// Each service's answers per data center (those with none left out) over the share window:
    /// the totals now less those of the oldest sample still inside the window (none yet: counts
    /// since start).
    func answerShares(now: Double, datacenters: [String]) -> (_ service: String) -> Status.Share {
        let answers = server.answerTotals()
        let base = answerSamples.first { now - $0.at <= Self.shareWindow }
        let window = base.map { now - $0.at } ?? min(Self.shareWindow, now - startedAt)
        return { name in
            var share: [String: UInt64] = [:]
            for datacenter in datacenters {
                let key = QueryStatistics.AnswerKey(service: name, datacenter: datacenter)
                let n = (answers[key] ?? 0) - min(answers[key] ?? 0, base?.answers[key] ?? 0)
                if n > 0 { share[datacenter] = n }
            }
            return Status.Share(windowSeconds: window.rounded(), answers: share)
        }
    }
}
