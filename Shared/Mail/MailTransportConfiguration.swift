import Foundation

/// Why a mail transport URL was refused. Descriptions never echo credentials or values.
public enum MailConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Not `smtp://`, `smtps://` or `file://`.
    case unsupportedScheme
    /// No host in an SMTP URL.
    case missingHost
    /// The port is not a number from 1 to 65535.
    case invalidPort
    /// User name and password must both be present and correctly percent-encoded.
    case invalidCredentials
    /// A query parameter has an invalid value.
    case invalidParameter(name: String)
    /// A query parameter is not known.
    case unknownParameter(name: String)
    /// A `file://` URL without an absolute path, or a path on an SMTP URL.
    case invalidPath

    public var description: String {
        switch self {
        case .unsupportedScheme: "mail transport URL must start with smtp://, smtps:// or file://"
        case .missingHost: "mail transport URL has no host"
        case .invalidPort: "mail transport URL has an invalid port (expected 1-65535)"
        case .invalidCredentials: "mail transport URL credentials must be user:password, both percent-encoded"
        case .invalidParameter(let name): "mail transport URL parameter '\(name)' has an invalid value"
        case .unknownParameter(let name):
            "mail transport URL parameter '\(name)' is unknown (known: tls, ca, verify, sessions, timeout, connect_timeout, helo)"
        case .invalidPath: "mail transport URL path is invalid (file:// needs an absolute folder; smtp has no path)"
        }
    }
}

/// Which transport to use, parsed from a URL:
///
/// - `smtp://user:pass@host:port?tls=required` — SMTP, port 25 by default; `tls` is
///   `opportunistic` (default: STARTTLS when offered), `required` (fail without STARTTLS) or `none`.
/// - `smtps://user:pass@host:port` — implicit TLS, port 465 by default.
/// - `file:///path/to/folder` — `FileTransport`.
///
/// SMTP parameters: `ca=/path/ca.pem` (trust only that CA file), `verify=false` (no certificate
/// verification, for tests), `sessions=N` (1–64 parallel sessions, default 4), `timeout=S` (seconds per
/// command, default 60), `connect_timeout=S` (default 10), `helo=name` (default `localhost`).
/// User name and password are percent-decoded.
public enum MailTransportConfiguration: Sendable, Hashable, CustomStringConvertible {
    /// Sessions when the URL does not say: several messages on the wire at once (one session
    /// sends one message at a time, four round trips each without PIPELINING), few enough for
    /// providers' connection limits. `MAIL_CONCURRENCY` (default 8) shares them.
    public static let defaultSessions = 4

    /// An SMTP server.
    case smtp(SMTPConfiguration)
    /// A folder receiving `.eml` files.
    case file(directory: String)

    /// Parses a transport URL.
    public static func parse(_ text: String) throws(MailConfigurationError) -> MailTransportConfiguration {
        guard let schemeEnd = text.range(of: "://") else { throw .unsupportedScheme }
        let scheme = text[..<schemeEnd.lowerBound].lowercased()
        let rest = String(text[schemeEnd.upperBound...])
        switch scheme {
        case "file":
            guard rest.hasPrefix("/"), !rest.contains("?"), let path = rest.removingPercentEncoding, path.count > 1 || path == "/"
            else { throw .invalidPath }
            return .file(directory: path)
        case "smtp", "smtps":
            return .smtp(try parseSMTP(rest, implicitTLS: scheme == "smtps"))
        default:
            throw .unsupportedScheme
        }
    }

    private static func parseSMTP(_ rest: String, implicitTLS: Bool) throws(MailConfigurationError) -> SMTPConfiguration {
        var authority = Substring(rest)
        var query: Substring = ""
        if let questionMark = authority.firstIndex(of: "?") {
            query = authority[authority.index(after: questionMark)...]
            authority = authority[..<questionMark]
        }
        if let slash = authority.firstIndex(of: "/") {
            guard authority[slash...] == "/" else { throw .invalidPath }
            authority = authority[..<slash]
        }
        var configuration = SMTPConfiguration(
            host: "", port: implicitTLS ? 465 : 25, implicitTLS: implicitTLS, sessions: defaultSessions)
        if let at = authority.lastIndex(of: "@") {
            let userInfo = authority[..<at]
            authority = authority[authority.index(after: at)...]
            guard let colon = userInfo.firstIndex(of: ":"),
                let user = String(userInfo[..<colon]).removingPercentEncoding,
                let password = String(userInfo[userInfo.index(after: colon)...]).removingPercentEncoding,
                !user.isEmpty, !password.isEmpty
            else { throw .invalidCredentials }
            configuration.credentials = SMTPCredentials(username: user, password: password)
        }
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw .missingHost }
            configuration.host = String(authority[authority.index(after: authority.startIndex)..<close])
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw .invalidPort }
                portText = after.dropFirst()
            }
        } else if let colon = authority.lastIndex(of: ":") {
            configuration.host = String(authority[..<colon])
            portText = authority[authority.index(after: colon)...]
        } else {
            configuration.host = String(authority)
        }
        guard !configuration.host.isEmpty else { throw .missingHost }
        guard configuration.host.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "%") }) else {
            throw .missingHost
        }
        if let portText {
            guard let port = Int(portText), (1...65535).contains(port) else { throw .invalidPort }
            configuration.port = port
        }
        var verify = true
        var caFile: String?
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(parts[0])
            guard parts.count == 2, let value = String(parts[1]).removingPercentEncoding else {
                throw .invalidParameter(name: name)
            }
            switch name {
            case "tls":
                guard !implicitTLS, let policy = STARTTLSPolicy(rawValue: value) else { throw .invalidParameter(name: name) }
                configuration.startTLS = policy
            case "ca":
                guard value.hasPrefix("/") else { throw .invalidParameter(name: name) }
                caFile = value
            case "verify":
                guard value == "true" || value == "false" else { throw .invalidParameter(name: name) }
                verify = value == "true"
            case "sessions":
                guard let count = Int(value), (1...64).contains(count) else { throw .invalidParameter(name: name) }
                configuration.sessions = count
            case "timeout", "connect_timeout":
                guard let seconds = Double(value), seconds > 0, seconds <= 600 else { throw .invalidParameter(name: name) }
                if name == "timeout" { configuration.commandTimeout = seconds } else { configuration.connectTimeout = seconds }
            case "helo":
                guard !value.isEmpty, value.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { throw .invalidParameter(name: name) }
                configuration.heloName = value
            default:
                throw .unknownParameter(name: String(name.prefix(32)))
            }
        }
        if !verify {
            guard caFile == nil else { throw .invalidParameter(name: "verify") }
            configuration.tls = TLSConfiguration(verification: .none)
        } else if let caFile {
            configuration.tls = TLSConfiguration(verification: .caFile(caFile))
        }
        return configuration
    }

    /// The transport this configuration describes.
    /// Throws `TLSError` when the TLS configuration cannot be loaded.
    public func makeTransport() throws(TLSError) -> any MailTransport {
        switch self {
        case .smtp(let configuration): try SMTPTransport(configuration: configuration)
        case .file(let directory): FileTransport(directory: directory)
        }
    }

    public var description: String {
        switch self {
        case .smtp(let configuration): configuration.description
        case .file(let directory): "file://\(directory)"
        }
    }
}
