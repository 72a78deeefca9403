/// When to upgrade a plain connection with STARTTLS.
public enum STARTTLSPolicy: String, Sendable, Hashable {
    /// Never (plain text unless the transport uses implicit TLS).
    case never = "none"
    /// When the server offers it.
    case opportunistic
    /// Always; fail when the server does not offer it.
    case required
}
