/// Credentials for SMTP AUTH. The description never shows the password.
public struct SMTPCredentials: Sendable, Hashable, CustomStringConvertible {
    /// The user name.
    public var username: String
    /// The password.
    public var password: String

    /// Creates credentials.
    public init(username: String, password: String) {
        self.username = username
        self.password = password
    }

    public var description: String { "SMTPCredentials(username: \(username), password: <redacted>)" }
}
