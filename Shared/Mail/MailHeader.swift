/// An extra header field of a message (for example `X-SMTPAPI`, `X-Mailgun-Variables`,
/// `List-Unsubscribe`). The value is unfolded text; `MIMEBuilder` folds and encodes it.
public struct MailHeader: Sendable, Hashable {
    /// The field name, for example `List-Unsubscribe`.
    public var name: String
    /// The field value without line breaks; values containing CR or LF are refused.
    public var value: String

    /// Creates a header field.
    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }

    /// Field names `MIMEBuilder` writes itself; an extra header may not use them.
    public static let reservedNames: Set<String> = [
        "from", "sender", "reply-to", "to", "cc", "bcc", "subject", "date", "message-id",
        "mime-version", "content-type", "content-transfer-encoding", "return-path",
    ]

    /// Whether `name` is a valid field name (printable ASCII without `:`, RFC 5322 ftext).
    public var hasValidName: Bool {
        !name.isEmpty && name.utf8.count <= 76
            && name.utf8.allSatisfy { $0 >= 33 && $0 <= 126 && $0 != UInt8(ascii: ":") }
    }
}
