import Dispatch
import Synchronization
import ThreadSupport

/// Sends messages over SMTP, keeping up to `configuration.sessions` sessions open and reusing
/// them. Each session is an `SMTPClient` confined to its own serial dispatch queue, so blocking
/// socket I/O never runs on Swift's cooperative thread pool; `send` suspends on a continuation.
/// A message goes to the session with the fewest messages in flight.
public final class SMTPTransport: MailTransport {
    private final class Session: @unchecked Sendable {
        // @unchecked Sendable: `client` is used only by work items on `queue`, a serial queue,
        // so one thread at a time touches it (no lock held across its blocking I/O).
        let queue: DispatchQueue
        private let client: SMTPClient
        let inFlight = Atomic<Int>(0)

        init(index: Int, client: SMTPClient) {
            queue = DispatchQueue(label: "mail.smtp.session.\(index)")
            self.client = client
        }

        /// Runs `body` on the session's queue, then `completion` there with its result.
        func submit<Result: Sendable>(
            _ body: @escaping @Sendable (SMTPClient) -> Result, completion: @escaping @Sendable (Result) -> Void
        ) {
            inFlight.add(1, ordering: .relaxed)
            queue.async {
                // A session thread wakes for each reply and sends the next command at once:
                // short slices let it run soon after waking on a CPU busy with other work, so
                // the server is not left waiting for the next command (a sink on its own CPU was
                // kept busier: share of its ceiling 0.785 → 0.84, bench/RESULTS.md).
                preferShortSchedulingSlices()
                let result = body(self.client)
                self.inFlight.subtract(1, ordering: .relaxed)
                completion(result)
            }
        }

        /// Runs `body` on the session's queue and waits for its result.
        func run<Result: Sendable>(_ body: @escaping @Sendable (SMTPClient) -> Result) async -> Result {
            await withCheckedContinuation { continuation in submit(body) { continuation.resume(returning: $0) } }
        }
    }

    /// What the transport connects to.
    public let configuration: SMTPConfiguration
    private let sessions: [Session]

    /// Creates the transport; connections open on first use.
    /// Throws when the TLS configuration cannot be loaded (for example a missing CA file).
    public init(configuration: SMTPConfiguration, builder: MIMEBuilder = MIMEBuilder()) throws(TLSError) {
        self.configuration = configuration
        var sessions: [Session] = []
        for index in 0..<max(1, configuration.sessions) {
            sessions.append(Session(index: index, client: try SMTPClient(configuration: configuration, builder: builder)))
        }
        self.sessions = sessions
    }

    /// Sends one message over the least busy session.
    public func send(_ message: MailMessage) async -> SendOutcome {
        await leastBusy.run { $0.send(message) }
    }

    /// Sends one message over the least busy session and calls `completion` on that session's
    /// queue: the message never waits on Swift's thread pool, neither to start nor to finish.
    public func submit(_ message: MailMessage, completion: @escaping @Sendable (SendOutcome) -> Void) {
        leastBusy.submit({ $0.send(message) }, completion: completion)
    }

    private var leastBusy: Session {
        sessions.min { $0.inFlight.load(ordering: .relaxed) < $1.inFlight.load(ordering: .relaxed) }!
    }

    /// Quits every open session.
    public func close() async {
        for session in sessions {
            await session.run { $0.close() }
        }
    }
}
