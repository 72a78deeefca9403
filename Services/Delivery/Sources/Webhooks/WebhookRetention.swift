import Foundation
import Postgres
import Service
import Synchronization

/// Keeps the webhook module's work tables from growing for ever: removes correlation rows
/// (provider message id → log) of messages sent longer ago than `correlationDays`, and pending
/// events that never matched a log and arrived longer ago than `unmatchedDays`.
///
/// Neither removes a record: every provider event is in the event table as it arrived (on its
/// log, or as `webhook.unmatched`). What retention gives up is matching: an event naming only a
/// provider id of an older send, or a log that appears after the pending event was removed, is
/// kept as unmatched instead of being attached. A rebuild of the correlation projection restores
/// old rows until the next pass removes them again (rows carry their events' times).
///
/// Runs on every replica: each pass deletes in bounded chunks, skipping rows another replica
/// has locked, so passes neither hold long transactions nor wait for each other.
final class WebhookRetention: BackgroundWorker {
    struct Configuration: Sendable, Equatable {
        /// Days a correlation row is kept after its send (`WEBHOOK_CORRELATION_RETENTION_DAYS`);
        /// 0 keeps them. Default 365: providers report opens and clicks for as long as the mail
        /// is read, and keep their own event history for 30–45 days.
        var correlationDays = 365
        /// Days an unmatched pending event is kept (`WEBHOOK_UNMATCHED_RETENTION_DAYS`); 0 keeps
        /// them. Default 30. Most unmatched events are about mail another system sent through the
        /// same provider account, and will never match.
        var unmatchedDays = 30
        /// Time between passes. Default 10 minutes.
        var interval: Duration = .seconds(600)
        /// Rows one statement deletes at most. Default 5,000.
        var chunk = 5_000

        /// Reads the two `*_RETENTION_DAYS` variables (0 to 36,500).
        static func load(from environment: EnvironmentReader) throws -> Configuration {
            var c = Configuration()
            let days = 0...36_500
            c.correlationDays = try environment.read("WEBHOOK_CORRELATION_RETENTION_DAYS", default: c.correlationDays, in: days)
            c.unmatchedDays = try environment.read("WEBHOOK_UNMATCHED_RETENTION_DAYS", default: c.unmatchedDays, in: days)
            return c
        }
    }

    /// Rows one pass removed.
    struct Removed: Equatable {
        var correlations = 0
        var unmatched = 0
    }

    let app: ServiceApp
    let configuration: Configuration
    private let task = Mutex<Task<Void, Never>?>(nil)

    init(app: ServiceApp, configuration: Configuration) {
        self.app = app
        self.configuration = configuration
    }

    func start() {
        guard configuration.correlationDays > 0 || configuration.unmatchedDays > 0 else { return }
        task.withLock { current in
            guard current == nil else { return }
            current = Task { [app, configuration] in
                // The first pass waits a little: a starting service has its migrations and
                // projections to catch up first.
                try? await Task.sleep(for: .seconds(30))
                while !Task.isCancelled {
                    do {
                        let removed = try await Self.pass(app: app, configuration: configuration)
                        if removed != Removed() {
                            app.logger.log(
                                .info, "webhook retention removed rows",
                                ["correlations": .int64(Int64(removed.correlations)), "unmatched": .int64(Int64(removed.unmatched))])
                        }
                    } catch {
                        app.logger.log(.warning, "webhook retention failed", ["error": .string("\(type(of: error))")])
                    }
                    try? await Task.sleep(for: configuration.interval)
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

    /// One pass: deletes chunk by chunk until nothing is older than the retention.
    static func pass(app: ServiceApp, configuration: Configuration) async throws -> Removed {
        var removed = Removed()
        if configuration.correlationDays > 0 {
            removed.correlations = try await deleteInChunks(
                app: app, table: "webhook_correlation", condition: "sent_at < now() - make_interval(days => $1)",
                days: configuration.correlationDays, chunk: configuration.chunk)
        }
        if configuration.unmatchedDays > 0 {
            removed.unmatched = try await deleteInChunks(
                app: app, table: "webhook_pending",
                condition: "message_hex IS NULL AND received_at < now() - make_interval(days => $1)",
                days: configuration.unmatchedDays, chunk: configuration.chunk)
        }
        return removed
    }

    /// `table` and `condition` are constants of this file; the age is a parameter.
    private static func deleteInChunks(app: ServiceApp, table: String, condition: String, days: Int, chunk: Int)
        async throws -> Int
    {
        var total = 0
        while !Task.isCancelled {
            let result = try await app.store.pool.execute(
                """
                DELETE FROM \(table) WHERE ctid = ANY(ARRAY(
                    SELECT ctid FROM \(table) WHERE \(condition) LIMIT $2 FOR UPDATE SKIP LOCKED))
                """, [days, chunk])
            total += result.affectedRows
            if result.affectedRows < chunk { break }
        }
        return total
    }
}
