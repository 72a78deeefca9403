/// A mailbox: an address with an optional display name (`"Ann Example" <ann@example.com>`).
public struct MailAddress: Sendable, Hashable {
    /// The addr-spec, for example `ann@example.com`. Must be ASCII (SMTPUTF8 is not used).
    public var address: String
    /// The display name; may contain any Unicode (it is RFC 2047 encoded when needed).
    public var name: String?

    /// Creates a mailbox from an address and an optional display name.
    public init(_ address: String, name: String? = nil) {
        self.address = address
        self.name = name
    }

    /// Whether `address` is an ASCII addr-spec that is safe to put in a header or an SMTP command:
    /// one `@` with non-empty sides, no whitespace, control characters, or `<>(),;:"[]\`.
    private static let forbidden: Set<UInt8> = Set("<>(),;:\"[]\\ ".utf8)

    public var isValidAddress: Bool {
        let bytes = Array(address.utf8)
        guard !bytes.isEmpty, bytes.count <= 254 else { return false }
        for byte in bytes where byte < 0x21 || byte > 0x7E || Self.forbidden.contains(byte) { return false }
        guard let at = bytes.lastIndex(of: UInt8(ascii: "@")) else { return false }
        return at > 0 && at < bytes.count - 1
    }
}
