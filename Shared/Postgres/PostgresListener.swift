import Foundation
import ThreadSupport
#if canImport(Glibc)
    import Glibc
#endif

/// Listens on PostgreSQL notification channels on its own connection and thread, and calls
/// `onNotification` for each one. When the connection breaks it reconnects (with back-off) and
/// calls `onNotification` once with channel `""`, since notifications may have been missed.
public final class PostgresListener: @unchecked Sendable {
    // @unchecked Sendable: `stopped` is an atomic-like flag guarded by `lock`; the connection is
    // only used by the listener's own thread.
    private let url: String
    private let channels: [String]
    private let onNotification: @Sendable (String, String) -> Void
    private let lock = NSLock()
    private var stopped = false
    private var thread: Thread?
    private let done = DispatchSemaphore(value: 0)

    public init(url: String, channels: [String], onNotification: @escaping @Sendable (String, String) -> Void) {
        self.url = url
        self.channels = channels
        self.onNotification = onNotification
    }

    public func start() {
        let t = Thread { [self] in
            nameCurrentThread("pg-listener")
            self.run()
        }
        t.name = "postgres-listener"
        thread = t
        t.start()
    }

    public func stop() {
        lock.lock()
        stopped = true
        lock.unlock()
        done.wait()
    }

    private var isStopped: Bool {
        lock.lock()
        defer { lock.unlock() }
        return stopped
    }

    private func run() {
        defer { done.signal() }
        var backoff = 0.05
        while !isStopped {
            do {
                let connection = try PostgresConnection(url: url)
                for c in channels { try connection.execute("LISTEN \"\(c.replacingOccurrences(of: "\"", with: ""))\"") }
                backoff = 0.05
                onNotification("", "")
                while !isStopped {
                    var pfd = pollfd(fd: connection.socket, events: Int16(POLLIN), revents: 0)
                    let r = poll(&pfd, 1, 200)
                    if r < 0 && errno != EINTR { throw PostgresError(code: .unavailable) }
                    if r > 0 {
                        for n in try connection.drainNotifications() { onNotification(n.channel, n.payload) }
                    }
                }
                connection.close()
            } catch {
                Thread.sleep(forTimeInterval: backoff)
                backoff = min(backoff * 2, 2)
            }
        }
    }
}
