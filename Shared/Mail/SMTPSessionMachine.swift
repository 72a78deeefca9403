import Foundation

/// The SMTP client protocol as a pure state machine (RFC 5321, 3207, 4954).
///
/// It never touches the network: it is fed server replies and events and answers with the
/// next `Action` for the I/O layer to carry out. One machine is one connection: greeting,
/// EHLO (HELO fallback), STARTTLS, AUTH PLAIN/LOGIN, then any number of mail transactions
/// (MAIL FROM, RCPT TO for each recipient, DATA), RSET after a failed transaction, and QUIT.
/// When the server offers PIPELINING (RFC 2920), MAIL FROM, every RCPT TO and DATA go out in
/// one write and their replies are read in order: two round trips a message instead of three
/// plus one per recipient.
public struct SMTPSessionMachine: Sendable {
    /// What the session needs.
    public struct Options: Sendable, Hashable {
        /// The name sent with EHLO/HELO.
        public var heloName: String
        /// When to use STARTTLS.
        public var startTLS: STARTTLSPolicy
        /// Whether the connection is already TLS (implicit TLS, `smtps://`).
        public var implicitTLS: Bool
        /// Credentials for AUTH, if the server needs them.
        public var credentials: SMTPCredentials?

        /// Creates options.
        public init(heloName: String, startTLS: STARTTLSPolicy = .opportunistic, implicitTLS: Bool = false, credentials: SMTPCredentials? = nil) {
            self.heloName = heloName
            self.startTLS = startTLS
            self.implicitTLS = implicitTLS
            self.credentials = credentials
        }
    }

    /// What the I/O layer must do next.
    public enum Action: Sendable, Hashable {
        /// Write these bytes, then read one reply and pass it to `receive(_:)`.
        case send([UInt8])
        /// Write nothing; read the next reply and pass it to `receive(_:)` (the replies of a
        /// pipelined group after the first).
        case receive
        /// Run the TLS handshake on the connection, then call `tlsEstablished()`.
        case startTLS
        /// The session is ready for `beginTransaction(from:to:data:)`.
        case ready
        /// The current message is done with this outcome; the session is ready again if `isReady`.
        case messageFinished(SendOutcome)
        /// The session is over with this failure; close the connection. `nothingSent` tells that
        /// no part of the current message's transaction reached the server, so it may be retried
        /// at once on a new connection.
        case failed(SendOutcome, nothingSent: Bool)
        /// QUIT was answered (or the session was never up); close the connection.
        case closed
    }

    private struct Transaction: Sendable {
        var recipients: [String]
        var payload: [UInt8]
        var next: Int
    }

    private enum State: Sendable {
        case awaitingGreeting
        case awaitingEHLO
        case awaitingHELO
        case awaitingSTARTTLS
        case handshaking
        case awaitingAuthPlain
        case awaitingAuthLoginUsername
        case awaitingAuthLoginPassword
        case awaitingAuthLoginResult
        case ready
        case awaitingMailFrom(Transaction)
        case awaitingRecipient(Transaction)
        case awaitingDataGo(Transaction)
        /// A pipelined MAIL/RCPT.../DATA group: `received` replies read so far; `refusal` is the
        /// first refused MAIL or RCPT, if any.
        case awaitingPipelined(Transaction, received: Int, refusal: SendOutcome?)
        case awaitingDataEnd
        case awaitingReset(SendOutcome)
        case awaitingQuit
        case closed
    }

    private var state: State = .awaitingGreeting
    private var tlsActive: Bool
    /// The options the machine was created with.
    public let options: Options
    /// What the server announced in its last EHLO reply.
    public private(set) var capabilities = SMTPCapabilities()

    /// A machine for a new connection; the first thing to do is read the greeting.
    public init(options: Options) {
        self.options = options
        self.tlsActive = options.implicitTLS
    }

    /// Whether a transaction can begin.
    public var isReady: Bool {
        if case .ready = state { return true }
        return false
    }

    /// Whether the session is over.
    public var isClosed: Bool {
        if case .closed = state { return true }
        return false
    }

    /// Whether TLS is active (implicit or after STARTTLS).
    public var isTLSActive: Bool { tlsActive }

    // MARK: Events

    /// A complete reply from the server.
    public mutating func receive(_ reply: SMTPReply) -> Action {
        if reply.code == 421 {  // service closing: whatever we were doing is over
            return fail(reply.failureOutcome)
        }
        switch state {
        case .awaitingGreeting:
            guard reply.kind == .success else { return fail(reply.failureOutcome) }
            return sendEHLO()
        case .awaitingEHLO:
            if reply.kind == .success {
                capabilities = SMTPCapabilities(ehloReply: reply)
                return afterGreeting()
            }
            if reply.code == 500 || reply.code == 502 {  // EHLO not supported: try HELO
                state = .awaitingHELO
                return command("HELO \(options.heloName)")
            }
            return fail(reply.failureOutcome)
        case .awaitingHELO:
            guard reply.kind == .success else { return fail(reply.failureOutcome) }
            capabilities = SMTPCapabilities()
            return afterGreeting()
        case .awaitingSTARTTLS:
            if reply.code == 220 {
                state = .handshaking
                return .startTLS
            }
            if options.startTLS == .required {
                return fail(.temporary(reason: "STARTTLS required but refused by the server: \(reply)"))
            }
            return afterTLSDecision()
        case .awaitingAuthPlain, .awaitingAuthLoginResult:
            guard reply.code == 235 else { return fail(reply.failureOutcome) }
            state = .ready
            return .ready
        case .awaitingAuthLoginUsername:
            guard reply.code == 334, let credentials = options.credentials else { return fail(reply.failureOutcome) }
            state = .awaitingAuthLoginPassword
            return command(Data(credentials.username.utf8).base64EncodedString())
        case .awaitingAuthLoginPassword:
            guard reply.code == 334, let credentials = options.credentials else { return fail(reply.failureOutcome) }
            state = .awaitingAuthLoginResult
            return command(Data(credentials.password.utf8).base64EncodedString())
        case .awaitingMailFrom(var transaction):
            guard reply.kind == .success else { return reset(after: reply.failureOutcome) }
            transaction.next = 0
            return sendNextRecipient(transaction)
        case .awaitingRecipient(var transaction):
            // Any refused recipient fails the whole message, so an outcome always covers
            // every recipient.
            guard reply.kind == .success else { return reset(after: reply.failureOutcome) }
            transaction.next += 1
            return sendNextRecipient(transaction)
        case .awaitingDataGo(let transaction):
            return dataGoAhead(reply, transaction)
        case .awaitingPipelined(let transaction, let received, var refusal):
            if received <= transaction.recipients.count {  // MAIL FROM's reply, then each RCPT TO's
                if refusal == nil, reply.kind != .success { refusal = reply.failureOutcome }
                state = .awaitingPipelined(transaction, received: received + 1, refusal: refusal)
                return .receive
            }
            // DATA's reply. Any refused recipient fails the whole message, as without pipelining.
            if let refusal {
                guard reply.code == 354 else { return reset(after: refusal) }
                // The server would take the data for the recipients it accepted: end the session
                // without the final dot, so it discards the transaction.
                state = .closed
                return .failed(refusal, nothingSent: false)
            }
            return dataGoAhead(reply, transaction)
        case .awaitingDataEnd:
            // The transaction is over either way; no RSET needed.
            state = .ready
            return .messageFinished(reply.kind == .success ? .accepted(providerReply: reply.description) : reply.failureOutcome)
        case .awaitingReset(let outcome):
            guard reply.kind == .success else {
                state = .closed
                return .messageFinished(outcome)
            }
            state = .ready
            return .messageFinished(outcome)
        case .awaitingQuit:
            state = .closed
            return .closed
        case .handshaking, .ready, .closed:
            return fail(.temporary(reason: "unexpected reply from the server: \(reply)"))
        }
    }

    /// The TLS handshake asked for by `.startTLS` succeeded.
    public mutating func tlsEstablished() -> Action {
        guard case .handshaking = state else { return fail(.temporary(reason: "TLS established in an unexpected state")) }
        tlsActive = true
        return sendEHLO()  // RFC 3207: forget what was learnt before TLS
    }

    /// The connection failed (refused, reset, closed, timed out, TLS error, garbage reply).
    /// Connection failures are temporary.
    public mutating func connectionFailed(reason: String) -> Action {
        if case .awaitingQuit = state {
            state = .closed
            return .closed
        }
        return fail(.temporary(reason: reason))
    }

    /// Starts a mail transaction. `payload` is the message as rendered by `MIMEBuilder`;
    /// it is dot-stuffed here. Valid only when `isReady`.
    public mutating func beginTransaction(from sender: String, to recipients: [String], message: [UInt8]) -> Action {
        guard case .ready = state else {
            return .messageFinished(.temporary(reason: "SMTP session not ready"))
        }
        guard !recipients.isEmpty else { return .messageFinished(.permanent(reason: "message has no recipients")) }
        let payload = DotStuffing.dataPayload(message)
        var sizeParameter = ""
        if let maxSize = capabilities.maxSize {
            if maxSize > 0, payload.count > maxSize {
                return .messageFinished(.permanent(reason: "message of \(payload.count) bytes exceeds the server's limit of \(maxSize) bytes"))
            }
            sizeParameter = " SIZE=\(payload.count)"
        }
        let transaction = Transaction(recipients: recipients, payload: payload, next: 0)
        let mailFrom = "MAIL FROM:<\(sender)>\(sizeParameter)"
        guard capabilities.pipelining else {
            state = .awaitingMailFrom(transaction)
            return command(mailFrom)
        }
        state = .awaitingPipelined(transaction, received: 0, refusal: nil)
        return command(([mailFrom] + recipients.map { "RCPT TO:<\($0)>" } + ["DATA"]).joined(separator: "\r\n"))
    }

    /// Ends the session politely.
    public mutating func quit() -> Action {
        switch state {
        case .closed, .awaitingGreeting, .handshaking:
            state = .closed
            return .closed
        default:
            state = .awaitingQuit
            return command("QUIT")
        }
    }

    // MARK: Steps

    private mutating func sendEHLO() -> Action {
        state = .awaitingEHLO
        return command("EHLO \(options.heloName)")
    }

    private mutating func afterGreeting() -> Action {
        if !tlsActive, options.startTLS != .never {
            if capabilities.startTLS {
                state = .awaitingSTARTTLS
                return command("STARTTLS")
            }
            if options.startTLS == .required {
                return fail(.temporary(reason: "STARTTLS required but not offered by the server"))
            }
        }
        return afterTLSDecision()
    }

    private mutating func afterTLSDecision() -> Action {
        guard let credentials = options.credentials else {
            state = .ready
            return .ready
        }
        if capabilities.authMechanisms.contains("PLAIN") {
            state = .awaitingAuthPlain
            let token = Data([0] + Array(credentials.username.utf8) + [0] + Array(credentials.password.utf8))
            return command("AUTH PLAIN \(token.base64EncodedString())")
        }
        if capabilities.authMechanisms.contains("LOGIN") {
            state = .awaitingAuthLoginUsername
            return command("AUTH LOGIN")
        }
        return fail(.permanent(reason: "the server offers neither AUTH PLAIN nor AUTH LOGIN"))
    }

    private mutating func sendNextRecipient(_ transaction: Transaction) -> Action {
        if transaction.next < transaction.recipients.count {
            state = .awaitingRecipient(transaction)
            return command("RCPT TO:<\(transaction.recipients[transaction.next])>")
        }
        state = .awaitingDataGo(transaction)
        return command("DATA")
    }

    private mutating func reset(after outcome: SendOutcome) -> Action {
        state = .awaitingReset(outcome)
        return command("RSET")
    }

    private mutating func fail(_ outcome: SendOutcome) -> Action {
        var nothingSent = false
        switch state {
        case .awaitingMailFrom: nothingSent = true
        case .awaitingPipelined(_, let received, _) where received == 0: nothingSent = true
        default: break
        }
        state = .closed
        return .failed(outcome, nothingSent: nothingSent)
    }

    /// DATA's reply: 354 sends the message; anything else fails it.
    private mutating func dataGoAhead(_ reply: SMTPReply, _ transaction: Transaction) -> Action {
        guard reply.code == 354 else { return reset(after: reply.failureOutcome) }
        state = .awaitingDataEnd
        return .send(transaction.payload)
    }

    private func command(_ line: String) -> Action {
        .send(Array((line + "\r\n").utf8))
    }
}
