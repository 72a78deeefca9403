/// Sends messages over SMTP, keeping up to `configuration.sessions` sessions open and reusing
/// them. One thread (`SMTPEventLoop`) drives the mail transactions of every session, so
/// blocking socket I/O never runs on Swift's cooperative thread pool and replies that arrive
/// together are handled in one wake-up; `send` suspends on a continuation. A message goes to
/// the session with the fewest messages in flight.
public final class SMTPTransport: MailTransport {
    /// What the transport connects to.
    public let configuration: SMTPConfiguration
    private let loop: SMTPEventLoop

    /// Creates the transport; connections open on first use.
    /// Throws when the TLS configuration cannot be loaded (for example a missing CA file).
    public init(configuration: SMTPConfiguration, builder: MIMEBuilder = MIMEBuilder()) throws(TLSError) {
        self.configuration = configuration
        var clients: [SMTPClient] = []
        for _ in 0..<max(1, configuration.sessions) {
            clients.append(try SMTPClient(configuration: configuration, builder: builder))
        }
        loop = SMTPEventLoop(clients: clients, commandTimeout: configuration.commandTimeout)
    }

    deinit {
        loop.stop()
    }

    /// Sends one message over the least busy session.
    public func send(_ message: MailMessage) async -> SendOutcome {
        await loop.send(message)
    }

    /// Quits every open session (after the messages already handed to it).
    public func close() async {
        await loop.quitAll()
    }
}
