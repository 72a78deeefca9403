/// How the SMTP client verifies the server's TLS certificate.
public struct TLSConfiguration: Sendable, Hashable, CustomStringConvertible {
    /// Which certificates to trust.
    public enum Verification: Sendable, Hashable {
        /// The system CA store, with host name checks (the default).
        case systemTrustStore
        /// Only the CA certificates in this PEM file, with host name checks.
        case caFile(String)
        /// No verification at all. For tests only.
        case none
    }

    /// Which certificates to trust.
    public var verification: Verification

    /// Creates a configuration; the default verifies against the system CA store.
    public init(verification: Verification = .systemTrustStore) {
        self.verification = verification
    }

    public var description: String {
        switch verification {
        case .systemTrustStore: "verify with the system CA store"
        case .caFile: "verify with a CA file"
        case .none: "no certificate verification"
        }
    }
}
