/// One SMTP connection: it carries out the actions of a `SMTPSessionMachine` on a
/// `SMTPConnection`. Opening the session (connect, greeting, EHLO, STARTTLS, AUTH) and QUIT
/// block on the network, so they run on a dispatch queue, never on Swift's cooperative pool;
/// mail transactions are non-blocking steps (`begin`, `readable`, `writable`, `timedOut`) that
/// `SMTPEventLoop` drives when the socket is ready, so one thread serves every session.
/// Not thread-safe: one owner at a time.
final class SMTPClient {
    /// What the client connects to.
    let configuration: SMTPConfiguration
    private let tlsContext: TLSContext?
    private let builder: MIMEBuilder
    private var connection: SMTPConnection?
    private var machine: SMTPSessionMachine
    private var parser = SMTPReplyParser()

    /// Creates a client; nothing connects until `open()`.
    /// Throws when the TLS configuration cannot be loaded (for example a missing CA file).
    init(configuration: SMTPConfiguration, builder: MIMEBuilder = MIMEBuilder()) throws(TLSError) {
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
    var isConnected: Bool { connection != nil && machine.isReady }

    /// The socket of the open connection, if any.
    var fileDescriptor: Int32? { connection.map(\.fd) }

    /// Where a transaction stands after a step.
    enum Progress {
        /// Waiting for the server: for a reply, and for the socket to take queued bytes when
        /// `wantsWrite`.
        case waiting(wantsWrite: Bool)
        /// The message is done. `nothingSent`: the session failed before any part of the
        /// transaction reached the server (a reused session the server had dropped), so the
        /// message may be tried once more on a fresh connection.
        case finished(SendOutcome, nothingSent: Bool)
    }

    // MARK: Transactions (non-blocking)

    /// Renders `message` and starts its transaction on the open session (`isConnected`).
    func begin(_ message: MailMessage) -> Progress {
        let data: [UInt8]
        do {
            data = try builder.render(message)
        } catch {
            return .finished(.permanent(reason: error.description), nothingSent: false)
        }
        return step(machine.beginTransaction(from: message.envelopeFrom, to: message.envelopeRecipients, message: data))
    }

    /// The socket is readable: takes what arrived and goes on.
    func readable() -> Progress {
        guard let connection else { return step(machine.connectionFailed(reason: SMTPConnectionError.closedByServer.description)) }
        do {
            parser.append(try connection.readAvailable())
        } catch {
            return step(machine.connectionFailed(reason: error.description))
        }
        return step(nil)
    }

    /// The socket is writable: sends what is queued.
    func writable() -> Progress {
        do {
            try connection?.flush()
        } catch {
            return step(machine.connectionFailed(reason: error.description))
        }
        return .waiting(wantsWrite: connection?.hasPendingOutput ?? false)
    }

    /// The server did not answer within the command timeout.
    func timedOut() -> Progress {
        step(machine.connectionFailed(reason: SMTPConnectionError.timedOut.description))
    }

    /// The socket of an idle session is readable: the server closed it or said something
    /// unasked (a 421); either way the session is over unless the machine stays ready.
    func idleReadable() {
        guard let connection else { return }
        do {
            parser.append(try connection.readAvailable())
            while let reply = try parser.next() {
                _ = machine.receive(reply)
                if !machine.isReady { break }
            }
        } catch {
            teardown()
            return
        }
        if !machine.isReady { teardown() }
    }

    /// Carries out actions (starting with `first`, or with the next buffered reply when nil)
    /// until the transaction waits for the server or is done.
    private func step(_ first: SMTPSessionMachine.Action?) -> Progress {
        var next = first
        var pipelinedReplyDue = false
        while true {
            let action: SMTPSessionMachine.Action
            if let pending = next {
                action = pending
            } else {
                // The next reply, if it has arrived whole.
                do {
                    guard let reply = try parser.next() else {
                        // A later reply of a pipelined group: a server may hold it back until
                        // our ACK (see `SMTPConnection.acknowledgeNow`).
                        if pipelinedReplyDue { connection?.acknowledgeNow() }
                        return .waiting(wantsWrite: connection?.hasPendingOutput ?? false)
                    }
                    action = machine.receive(reply)
                } catch {
                    action = machine.connectionFailed(reason: String(describing: error))
                }
            }
            next = nil
            pipelinedReplyDue = false
            switch action {
            case .send(let bytes):
                do {
                    guard let connection else { throw SMTPConnectionError.closedByServer }
                    try connection.enqueue(bytes)
                } catch {
                    next = machine.connectionFailed(reason: String(describing: error))
                }
            case .receive:
                pipelinedReplyDue = true
            case .messageFinished(let outcome):
                if !machine.isReady { teardown() }
                return .finished(outcome, nothingSent: false)
            case .failed(let outcome, let nothingSent):
                teardown()
                return .finished(outcome, nothingSent: nothingSent)
            case .ready, .startTLS, .closed:
                teardown()
                return .finished(.temporary(reason: "unexpected SMTP session state (\(action))"), nothingSent: false)
            }
        }
    }

    // MARK: Opening and closing (blocking)

    /// Sends QUIT if a session is open and closes the connection. Blocks.
    func close() {
        if connection != nil, machine.isReady {
            _ = run(machine.quit())
        }
        teardown()
    }

    /// Closes the connection without QUIT.
    func abandon() {
        teardown()
    }

    deinit {
        connection?.close()
    }

    /// Connects and runs the session up to `ready`; returns the failure otherwise. Blocks.
    func open() -> SendOutcome? {
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

    /// Carries out actions, blocking, until one needs the caller (ready, finished, failed, closed).
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
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            if let reply = try parser.next() { return reply }
            if acknowledgingAtOnce { connection.acknowledgeNow() }
            let count = try connection.read(into: &buffer)
            if count == 0 { throw SMTPConnectionError.closedByServer }
            parser.append(buffer[0..<count])
        }
    }

    private func teardown() {
        connection?.close()
        connection = nil
    }
}
