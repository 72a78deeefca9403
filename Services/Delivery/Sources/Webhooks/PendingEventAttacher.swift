import Domain
import EventStore
import Foundation
import JSON
import Postgres
import Service
import Synchronization

/// Appends the pending provider events whose log has appeared (rows of `webhook_pending` with a
/// `message_hex`) to that log's stream, with the id they would have had had they matched on
/// arrival, then deletes the rows. A crash between the two repeats the append, which the
/// deterministic ids make harmless. Runs on every replica; racing replicas append the same ids.
final class PendingEventAttacher: BackgroundWorker {
    let app: ServiceApp
    let interval: Duration
    private let task = Mutex<Task<Void, Never>?>(nil)

    init(app: ServiceApp, interval: Duration = .milliseconds(200)) {
        self.app = app
        self.interval = interval
    }

    func start() {
        task.withLock { current in
            guard current == nil else { return }
            current = Task { [app, interval] in
                while !Task.isCancelled {
                    var moved = 0
                    do {
                        moved = try await Self.attachReady(app: app)
                    } catch {
                        app.logger.log(.warning, "attaching pending webhook events failed", ["error": .string("\(type(of: error))")])
                    }
                    if moved == 0 { try? await Task.sleep(for: interval) }
                }
            }
        }
    }

    func stop() {
        task.withLock { current in
            current?.cancel()
            current = nil
        }
    }

    /// One pass: attaches up to `limit` ready rows; returns how many it handled.
    @discardableResult
    static func attachReady(app: ServiceApp, limit: Int = 500) async throws -> Int {
        let rows = try await app.store.pool.execute(
            """
            SELECT tenant, event_id::text, provider, event_data, message_hex FROM webhook_pending
             WHERE message_hex IS NOT NULL ORDER BY received_at LIMIT $1
            """, [limit])
        guard !rows.isEmpty else { return 0 }
        struct Ready {
            let tenant: String
            let id: UUID
            let provider: String
            let data: JSONObject
            let log: CorrelatedLog
        }
        var ready: [Ready] = []
        let fetched = rows.rows.compactMap { r in r[1].flatMap(UUID.init(uuidString:)).map { (r[0] ?? "", $0) } }
        for r in rows.rows {
            guard let tenant = r[0], let id = r[1].flatMap(UUID.init(uuidString:)), let provider = r[2],
                let hex = r[4], case .object(let data)? = try? JSON.parse(Array((r[3] ?? "").utf8))
            else { continue }
            ready.append(
                Ready(tenant: tenant, id: id, provider: provider, data: data,
                    log: CorrelatedLog(messageHex: hex, logID: "log_" + hex)))
        }
        let ids = ready.map(\.id)
        let existing = try await app.store.pool.execute(
            "SELECT event_id::text FROM events WHERE event_id = ANY($1::uuid[])", [PostgresArray(ids)])
        let stored = Set(existing.rows.compactMap { $0[0].flatMap(UUID.init(uuidString:)) })
        var byTenant: [String: StreamAppends] = [:]
        for item in ready where !stored.contains(item.id) {
            var metadata: JSONObject = ["actor": .string("webhook:\(item.provider)")]
            metadata["cause_event_id"] = .string(ProviderEventRecord.unmatchedID(item.id).uuidString.lowercased())
            let event = NewEvent(
                id: item.id, type: EventCatalog.messageProviderEvent,
                data: ProviderEventRecord.attached(item.data, to: item.log), metadata: .object(metadata))
            byTenant[item.tenant, default: StreamAppends(tenant: item.tenant)].add(
                event, to: EventCatalog.messageStream(messageHex: item.log.messageHex))
        }
        let units = byTenant.values.flatMap(\.units)
        if !units.isEmpty {
            do {
                try await app.store.append(units)
            } catch AppendError.partialDuplicate {
                // Raced with a request or another replica: the next pass sees what is stored.
                return 0
            }
        }
        try await app.store.pool.execute(
            "DELETE FROM webhook_pending WHERE (tenant, event_id) IN (SELECT * FROM unnest($1::text[], $2::uuid[]))",
            [PostgresArray(fetched.map(\.0)), PostgresArray(fetched.map(\.1))])
        return fetched.count
    }
}
