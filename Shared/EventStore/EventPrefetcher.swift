import Dispatch
import Postgres

/// Reads a runner's next batch on its own connection and thread while the runner applies the
/// current one, so catching up (and a rebuild) keeps both PostgreSQL and the projection's
/// decoding busy instead of taking turns.
///
/// A prefetched batch is used only if the runner's checkpoint is still the one it was read
/// after (a failed apply or a rebuild discards it). Reading is safe to overlap with applying:
/// `EventReader` returns only events of finished transactions, whatever the moment.
final class EventPrefetcher: @unchecked Sendable {
    // @unchecked Sendable: `connection` is touched only on `queue` (serial); a batch's result is
    // written on `queue` before its semaphore is signalled and read only after waiting on it.

    /// One read in flight or done.
    final class Batch: @unchecked Sendable {
        // @unchecked Sendable: `result` is written once, before `done` is signalled, and read
        // only after `done` was waited for.
        let after: Checkpoint
        let limit: Int
        private let done = DispatchSemaphore(value: 0)
        fileprivate var result: Result<[RecordedEvent], any Error> = .success([])

        init(after: Checkpoint, limit: Int) {
            self.after = after
            self.limit = limit
        }

        fileprivate func finish(_ r: Result<[RecordedEvent], any Error>) {
            result = r
            done.signal()
        }

        /// Waits for the read and returns its events (or throws its error).
        func events() throws -> [RecordedEvent] {
            done.wait()
            return try result.get()
        }
    }

    private let url: String
    private let queue: DispatchQueue
    private var connection: PostgresConnection?

    init(url: String, name: String) {
        self.url = url
        self.queue = DispatchQueue(label: "prefetch-\(name)")
    }

    /// Starts reading up to `limit` events after `checkpoint` (with the data of `types` only,
    /// when given: see `EventReader.read`).
    func start(after checkpoint: Checkpoint, limit: Int, types: Set<String>? = nil) -> Batch {
        let batch = Batch(after: checkpoint, limit: limit)
        queue.async { [self] in
            do {
                if connection?.isConnected != true {
                    connection = nil
                    connection = try PostgresConnection(url: url)
                }
                batch.finish(.success(try EventReader.read(after: checkpoint, limit: limit, types: types, on: connection!)))
            } catch {
                batch.finish(.failure(error))
            }
        }
        return batch
    }

    /// Closes the connection once any read in flight has finished.
    func close() {
        queue.sync {
            connection?.close()
            connection = nil
        }
    }
}
