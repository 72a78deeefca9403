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
        tracker.start(baseline: runners.reduce(0) { $0 + $1.progress.appliedEvents })
        app.vault.forgetCachedKeys()
        for r in runners { r.requestRebuild() }
        return .json(
            ["success": true, "status": "OK", "rebuilding": .array(runners.map { .string($0.projection.name) })],
            status: .accepted)
    }

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
        if let since = tracker.startedAt {
            let applied = runners.reduce(0) { $0 + $1.progress.appliedEvents } - tracker.baseline
            let seconds = max(Date().timeIntervalSince(since), 0.001)
            o["rebuild_applied_events"] = .int(applied)
            o["rebuild_seconds"] = .double(seconds)
            o["rebuild_events_per_second"] = .double((Double(applied) / seconds).rounded())
        }
        return .json(.object(o))
    }
}

/// When the last rebuild was requested and how many events had been applied before it.
final class RebuildTracker: Sendable {
    private let state = Mutex<(Date?, Int)>((nil, 0))

    func start(baseline: Int) { state.withLock { $0 = (Date(), baseline) } }
    var startedAt: Date? { state.withLock { $0.0 } }
    var baseline: Int { state.withLock { $0.1 } }
}
