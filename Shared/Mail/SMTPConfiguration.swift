/// Where and how `SMTPTransport` connects. The description never shows the password.
public struct SMTPConfiguration: Sendable, Hashable, CustomStringConvertible {
    /// The server's host name or IP address.
    public var host: String
    /// The server's port (25 or 587 for `smtp://`, 465 for `smtps://`).
    public var port: Int
    /// Whether TLS starts right after connecting (`smtps://`), before the greeting.
    public var implicitTLS: Bool
    /// When to upgrade with STARTTLS (ignored with implicit TLS).
    public var startTLS: STARTTLSPolicy
    /// Credentials for AUTH PLAIN/LOGIN, if any.
    public var credentials: SMTPCredentials?
    /// How the server certificate is verified.
    public var tls: TLSConfiguration
    /// The name announced with EHLO.
    public var heloName: String
    /// Seconds allowed to establish the TCP connection.
    public var connectTimeout: Double
    /// Seconds allowed for each read or write (each reply, including the one after DATA).
    public var commandTimeout: Double
    /// How many sessions (connections) the transport may keep open at once.
    public var sessions: Int

    /// Creates a configuration; by default STARTTLS is used when offered and certificates are
    /// verified against the system CA store.
    public init(
        host: String, port: Int = 25, implicitTLS: Bool = false, startTLS: STARTTLSPolicy = .opportunistic,
        credentials: SMTPCredentials? = nil, tls: TLSConfiguration = TLSConfiguration(), heloName: String = "localhost",
        connectTimeout: Double = 10, commandTimeout: Double = 60, sessions: Int = 1
    ) {
        self.host = host
        self.port = port
        self.implicitTLS = implicitTLS
        self.startTLS = startTLS
        self.credentials = credentials
        self.tls = tls
        self.heloName = heloName
        self.connectTimeout = connectTimeout
        self.commandTimeout = commandTimeout
        self.sessions = sessions
    }

    public var description: String {
        let scheme = implicitTLS ? "smtps" : "smtp"
        let user = credentials.map { "\($0.username):<redacted>@" } ?? ""
        return "\(scheme)://\(user)\(host):\(port) (starttls \(startTLS.rawValue), \(tls), \(sessions) session(s))"
    }
}
