/// Opens SMTP sessions, blocking: connects (implicit TLS for `smtps://`), reads the greeting,
/// and runs EHLO (HELO fallback), STARTTLS and AUTH through a `SMTPSessionMachine` until it is
/// ready for mail, then hands the session over (`SMTPEventLoop` carries on without blocking).
///
/// It blocks on network I/O (bounded by the connect and command timeouts), so run it on a
/// dispatch queue or thread of its own, never on Swift's cooperative pool. Not thread-safe.
final class SMTPSessionOpener {
    /// What it connects to.
    let configuration: SMTPConfiguration
    private let tlsContext: TLSContext?
    /// Where replies are read into.
    private var readBuffer = [UInt8](repeating: 0, count: 4096)

    /// Throws when the TLS configuration cannot be loaded (for example a missing CA file).
    init(configuration: SMTPConfiguration) throws(TLSError) {
        self.configuration = configuration
        let usesTLS = configuration.implicitTLS || configuration.startTLS != .never
        self.tlsContext = usesTLS ? try TLSContext(configuration.tls) : nil
    }

    /// A new session, ready for its first message, or why there is none.
    func open() -> SMTPOpening {
        let connection: SMTPConnection
        do {
            connection = try SMTPConnection(
                host: configuration.host, port: configuration.port, connectTimeout: configuration.connectTimeout,
                ioTimeout: configuration.commandTimeout)
            if configuration.implicitTLS, let tlsContext { try connection.startTLS(tlsContext) }
        } catch {
            return .failed(.temporary(reason: error.description))
        }
        let session = SMTPReadySession(
            connection: connection,
            machine: SMTPSessionMachine(
                options: SMTPSessionMachine.Options(
                    heloName: configuration.heloName, startTLS: configuration.implicitTLS ? .never : configuration.startTLS,
                    implicitTLS: configuration.implicitTLS, credentials: configuration.credentials)),
            parser: SMTPReplyParser())
        var action: SMTPSessionMachine.Action
        do {
            action = session.machine.receive(try readReply(session))
        } catch {
            action = session.machine.connectionFailed(reason: String(describing: error))
        }
        while true {
            switch action {
            case .send(let bytes):
                do {
                    try connection.write(bytes)
                    action = session.machine.receive(try readReply(session))
                } catch {
                    action = session.machine.connectionFailed(reason: String(describing: error))
                }
            case .receive:
                do {
                    action = session.machine.receive(try readReply(session))
                } catch {
                    action = session.machine.connectionFailed(reason: String(describing: error))
                }
            case .startTLS:
                do {
                    guard let tlsContext else { throw SMTPConnectionError.tls("TLS is not configured") }
                    // Bytes received before the handshake could be injected by a third party.
                    if session.parser.hasPartialReply {
                        throw SMTPConnectionError.tls("unexpected data before the TLS handshake")
                    }
                    try connection.startTLS(tlsContext)
                    action = session.machine.tlsEstablished()
                } catch {
                    action = session.machine.connectionFailed(reason: String(describing: error))
                }
            case .ready:
                return .ready(session)
            case .failed(let outcome, _), .messageFinished(let outcome):
                connection.close()
                return .failed(outcome)
            case .closed:
                connection.close()
                return .failed(.temporary(reason: "unexpected SMTP session state (closed)"))
            }
        }
    }

    /// The next reply of the session.
    private func readReply(_ session: SMTPReadySession) throws -> SMTPReply {
        while true {
            if let reply = try session.parser.next() { return reply }
            let count = try session.connection.read(into: &readBuffer)
            if count == 0 { throw SMTPConnectionError.closedByServer }
            session.parser.append(readBuffer[0..<count])
        }
    }
}

/// A session opened by `SMTPSessionOpener`, ready for transactions.
final class SMTPReadySession: @unchecked Sendable {
    // @unchecked Sendable: built on the thread that opened it and then handed, once, to the
    // event loop's thread, which alone uses it from then on.
    let connection: SMTPConnection
    var machine: SMTPSessionMachine
    var parser: SMTPReplyParser

    init(connection: SMTPConnection, machine: SMTPSessionMachine, parser: SMTPReplyParser) {
        self.connection = connection
        self.machine = machine
        self.parser = parser
    }
}

/// What opening a session gave.
enum SMTPOpening: Sendable {
    case ready(SMTPReadySession)
    case failed(SendOutcome)
}
