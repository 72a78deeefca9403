/// One SMTP connection, driven synchronously: opens lazily, sends messages one after another
/// over the same session, reconnects when the server has gone away, and quits on `close()`.
///
/// It carries out the actions of a `SMTPSessionMachine` on a `SMTPConnection`. It blocks on
/// network I/O, so run it on a dedicated thread or dispatch queue (as `SMTPTransport` does),
/// never on Swift's cooperative pool. Not thread-safe.
public final class SMTPClient {
    /// What the client connects to.
    public let configuration: SMTPConfiguration
    private let tlsContext: TLSContext?
    private let builder: MIMEBuilder
    private var connection: SMTPConnection?
    private var machine: SMTPSessionMachine
    private var parser = SMTPReplyParser()
    /// Where replies are read into (kept: four replies a message without PIPELINING).
    private var readBuffer = [UInt8](repeating: 0, count: 4096)

    /// Creates a client; nothing connects until the first `send(_:)`.
    /// Throws when the TLS configuration cannot be loaded (for example a missing CA file).
    public init(configuration: SMTPConfiguration, builder: MIMEBuilder = MIMEBuilder()) throws(TLSError) {
        self.configuration = configuration
        self.builder = builder
        let usesTLS = configuration.implicitTLS || configuration.startTLS != .never
        self.tlsContext = usesTLS ? try TLSContext(configuration.tls) : nil
        self.machine = SMTPSessionMachine(options: Self.options(configuration))
    }

    private static func options(_ configuration: SMTPConfiguration) -> SMTPSessionMachine.Options {
        SMTPSessionMachine.Options(
            heloName: configuration.heloName, startTLS: configuration.implicitTLS ? .never : configuration.startTLS,
            implicitTLS: configuration.implicitTLS, credentials: configuration.credentials)
    }

    /// Whether a session is open and ready for the next message.
    public var isConnected: Bool { connection != nil && machine.isReady }

    /// Renders and sends one message, opening (or re-opening) the session as needed.
    public func send(_ message: MailMessage) -> SendOutcome {
        let data: [UInt8]
        do {
            data = try builder.render(message)
        } catch {
            return .permanent(reason: error.description)
        }
        var attempt = 0
        while true {
            attempt += 1
            let reused = isConnected
            if !reused, let failure = open() { return failure }
            let first = machine.beginTransaction(from: message.envelopeFrom, to: message.envelopeRecipients, message: data)
            switch run(first) {
            case .messageFinished(let outcome):
                if !machine.isReady { teardown() }
                return outcome
            case .failed(let outcome, let nothingSent):
                teardown()
                // A reused session the server had dropped: retry once on a fresh connection.
                if reused, nothingSent, attempt == 1 { continue }
                return outcome
            case let other:
                teardown()
                return .temporary(reason: "unexpected SMTP session state (\(other))")
            }
        }
    }

    /// Sends QUIT if a session is open and closes the connection.
    public func close() {
        if connection != nil, machine.isReady {
            _ = run(machine.quit())
        }
        teardown()
    }

    deinit {
        connection?.close()
    }

    // MARK: I/O

    /// Connects and runs the session up to `ready`; returns the failure otherwise.
    private func open() -> SendOutcome? {
        teardown()
        machine = SMTPSessionMachine(options: Self.options(configuration))
        parser = SMTPReplyParser()
        do {
            let connection = try SMTPConnection(
                host: configuration.host, port: configuration.port, connectTimeout: configuration.connectTimeout,
                ioTimeout: configuration.commandTimeout)
            self.connection = connection
            if configuration.implicitTLS, let tlsContext { try connection.startTLS(tlsContext) }
        } catch {
            teardown()
            return .temporary(reason: error.description)
        }
        let action: SMTPSessionMachine.Action
        do {
            action = machine.receive(try readReply())
        } catch {
            action = machine.connectionFailed(reason: String(describing: error))
        }
        switch run(action) {
        case .ready:
            return nil
        case .failed(let outcome, _), .messageFinished(let outcome):
            teardown()
            return outcome
        case let other:
            teardown()
            return .temporary(reason: "unexpected SMTP session state (\(other))")
        }
    }

    /// Carries out actions until one needs the caller (ready, finished, failed, closed).
    private func run(_ first: SMTPSessionMachine.Action) -> SMTPSessionMachine.Action {
        var action = first
        while true {
            switch action {
            case .send(let bytes):
                do {
                    guard let connection else { throw SMTPConnectionError.closedByServer }
                    try connection.write(bytes)
                    action = machine.receive(try readReply())
                } catch {
                    action = machine.connectionFailed(reason: String(describing: error))
                }
            case .receive:
                do {
                    action = machine.receive(try readReply(acknowledgingAtOnce: true))
                } catch {
                    action = machine.connectionFailed(reason: String(describing: error))
                }
            case .startTLS:
                do {
                    guard let connection, let tlsContext else { throw SMTPConnectionError.tls("TLS is not configured") }
                    // Bytes received before the handshake could be injected by a third party.
                    if parser.hasPartialReply { throw SMTPConnectionError.tls("unexpected data before the TLS handshake") }
                    try connection.startTLS(tlsContext)
                    action = machine.tlsEstablished()
                } catch {
                    action = machine.connectionFailed(reason: String(describing: error))
                }
            case .ready, .messageFinished, .failed, .closed:
                return action
            }
        }
    }

    /// The next reply. `acknowledgingAtOnce`: a later reply of a pipelined group, which a server
    /// may hold back until our ACK (see `SMTPConnection.acknowledgeNow`).
    private func readReply(acknowledgingAtOnce: Bool = false) throws -> SMTPReply {
        guard let connection else { throw SMTPConnectionError.closedByServer }
        while true {
            if let reply = try parser.next() { return reply }
            if acknowledgingAtOnce { connection.acknowledgeNow() }
            let count = try connection.read(into: &readBuffer)
            if count == 0 { throw SMTPConnectionError.closedByServer }
            parser.append(readBuffer[0..<count])
        }
    }

    private func teardown() {
        connection?.close()
        connection = nil
    }
}
