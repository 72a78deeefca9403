import EventStore
import Foundation
import HTTP
import JSON
import Service
import Synchronization

/// Operator routes: `POST /admin/rebuild` empties the read tables and replays the event table
/// from position 0 (the runners do it in the background; reads keep working meanwhile, on a
/// read model that refills); `GET /admin/rebuild` reports progress and events/s.
///
/// Only sites listed in `QUERY_OPERATOR_SITES` (comma-separated) may call them; others get 403.
struct AdminRoutes {
    let app: ServiceApp
    let operators: Set<String>
    let tracker = RebuildTracker()

    init(app: ServiceApp) {
        self.app = app
        let listed = app.configuration.environment.read("QUERY_OPERATOR_SITES") ?? ""
        self.operators = Set(listed.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
    }

    func register(_ router: inout Router) {
        router.post("/admin/rebuild", rebuild)
        router.get("/admin/rebuild", status)
    }

    private func requireOperator(_ context: RequestContext) throws {
        let tenant = try context.requireTenant()
        guard operators.contains(tenant) else { throw HTTPError(.forbidden, "operator access required") }
    }

    func rebuild(_ request: HTTPRequest, _ context: RequestContext) async throws -> HTTPResponse {
        try requireOperator(context)
        let runners = app.projectionRunners
        let target = RebuildTarget(head: try await app.store.newestCheckpoint(), runners: runners)
        tracker.start(target, baseline: runners.map(\.progress.appliedEvents))
        app.vault.forgetCachedKeys()
        for r in runners { r.requestRebuild() }
        return .json(
            ["success": true, "status": "OK", "rebuilding": .array(runners.map { .string($0.projection.name) })],
            status: .accepted)
    }

    /// Each projection's progress and, after a rebuild request, whether it is done (every
    /// projection reset since the request and caught up with the newest event at the request)
    /// with its events and events/s.
    func status(_ request: HTTPRequest, _ context: RequestContext) async throws -> HTTPResponse {
        try requireOperator(context)
        let runners = app.projectionRunners
        var projections = JSONObject()
        for r in runners {
            let p = r.progress
            projections[p.name] = .object([
                "leader": .bool(p.isLeader), "caught_up": .bool(p.isCaughtUp), "checkpoint": .string(p.checkpoint.description),
                "applied_events": .int(p.appliedEvents),
            ])
        }
        var o: JSONObject = ["success": true, "status": "OK", "projections": .object(projections)]
        if let (target, baseline) = tracker.current {
            let done = target.isDone(runners)
            let applied = zip(runners, baseline).map { $0.progress.appliedEvents - $1 }.max() ?? 0
            let seconds = done ? target.seconds(runners) : Date().timeIntervalSince(target.requestedAt)
            var rebuild: JSONObject = ["done": .bool(done), "target": .string(target.head.description)]
            rebuild["events"] = .int(applied)
            rebuild["seconds"] = .double((seconds * 1000).rounded() / 1000)
            rebuild["events_per_second"] = .double((Double(applied) / max(seconds, 0.001)).rounded())
            o["rebuild"] = .object(rebuild)
        }
        return .json(.object(o))
    }
}

/// The last rebuild requested through the operator route.
final class RebuildTracker: Sendable {
    private let state = Mutex<(RebuildTarget, [Int])?>(nil)

    func start(_ target: RebuildTarget, baseline: [Int]) { state.withLock { $0 = (target, baseline) } }
    var current: (RebuildTarget, [Int])? { state.withLock { $0 } }
}
