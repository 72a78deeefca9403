import Dispatch
import Postgres

/// Reads a runner's next batch on its own connection and thread while the runner applies the
/// current one, so catching up (and a rebuild) keeps both PostgreSQL and the projection's
/// decoding busy instead of taking turns.
///
/// The batch goes into `SharedEventReads`, so it is used only by a runner whose checkpoint is
/// the one it was read after (a failed apply or a rebuild leaves it unused). Reading is safe to
/// overlap with applying: `EventReader` returns only events of finished transactions, whatever
/// the moment.
final class EventPrefetcher: @unchecked Sendable {
    // @unchecked Sendable: `connection` is touched only on `queue` (serial).

    private let url: String
    private let queue: DispatchQueue
    private var connection: PostgresConnection?

    init(url: String, name: String) {
        self.url = url
        self.queue = DispatchQueue(label: "prefetch-\(name)")
    }

    /// Starts reading `batch` (with the data of `types` only, when given: see `EventReader.read`).
    func start(_ batch: EventBatch, types: Set<String>? = nil) {
        queue.async { [self] in
            do {
                if connection?.isUsable != true {
                    connection = nil
                    connection = try PostgresConnection(url: url)
                }
                batch.finish(
                    .success(try EventReader.read(after: batch.after, limit: batch.limit, types: types, on: connection!)))
            } catch {
                batch.finish(.failure(error))
            }
        }
    }

    /// Closes the connection once any read in flight has finished.
    func close() {
        queue.sync {
            connection?.close()
            connection = nil
        }
    }
}
