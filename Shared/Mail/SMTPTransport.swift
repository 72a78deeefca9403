/// Sends messages over SMTP, keeping up to `configuration.sessions` sessions open and reusing
/// them. The sessions are driven by one `SMTPEventLoop` thread on non-blocking sockets, so
/// socket I/O never runs on Swift's cooperative thread pool and a reply never needs a thread
/// of its own; `send` suspends on a continuation. A message goes to the session with the
/// fewest messages in flight, and is rendered (MIME) by the caller before it is queued.
public final class SMTPTransport: MailTransport {
    /// What the transport connects to.
    public let configuration: SMTPConfiguration
    private let builder: MIMEBuilder
    private let loop: SMTPEventLoop

    /// Creates the transport; connections open on first use.
    /// Throws when the TLS configuration cannot be loaded (for example a missing CA file).
    public init(configuration: SMTPConfiguration, builder: MIMEBuilder = MIMEBuilder()) throws(TLSError) {
        self.configuration = configuration
        self.builder = builder
        var openers: [SMTPSessionOpener] = []
        for _ in 0..<max(1, configuration.sessions) {
            openers.append(try SMTPSessionOpener(configuration: configuration))
        }
        loop = SMTPEventLoop(openers: openers, commandTimeout: configuration.commandTimeout)
    }

    deinit {
        loop.stop()
    }

    /// Sends one message over the least busy session.
    public func send(_ message: MailMessage) async -> SendOutcome {
        await withCheckedContinuation { continuation in submit(message) { continuation.resume(returning: $0) } }
    }

    /// Sends one message over the least busy session and calls `completion` on the transport's
    /// thread: the message never waits on Swift's thread pool, neither to start nor to finish.
    public func submit(_ message: MailMessage, completion: @escaping @Sendable (SendOutcome) -> Void) {
        let data: [UInt8]
        do {
            data = try builder.render(message)
        } catch {
            return completion(.permanent(reason: error.description))
        }
        loop.submit(
            SMTPJob(sender: message.envelopeFrom, recipients: message.envelopeRecipients, data: data, completion: completion))
    }

    /// Quits every open session (once its queued messages are sent).
    public func close() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            loop.quitAll { continuation.resume() }
        }
    }
}
