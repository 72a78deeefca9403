/// Why a `MailMessage` cannot be rendered or sent. Descriptions name the field, never its content.
public enum MailMessageError: Error, Sendable, Equatable, CustomStringConvertible {
    /// An address (in the named field) is not a valid ASCII addr-spec.
    case invalidAddress(field: String)
    /// A header value (or the subject or a display name) contains CR or LF.
    case lineBreakInHeader(field: String)
    /// An extra header has an invalid field name.
    case invalidHeaderName
    /// An extra header uses a name the builder writes itself (for example `Subject`).
    case reservedHeader(name: String)
    /// A header cannot be folded into lines of at most 998 characters.
    case headerLineTooLong(field: String)
    /// The message id is not of the form `<left@right>`.
    case invalidMessageID
    /// There is no recipient at all.
    case noRecipients

    public var description: String {
        switch self {
        case .invalidAddress(let field): "invalid email address in \(field)"
        case .lineBreakInHeader(let field): "line break (CR or LF) in header \(field) refused"
        case .invalidHeaderName: "invalid header field name"
        case .reservedHeader(let name): "header \(name) cannot be set as an extra header"
        case .headerLineTooLong(let field): "header \(field) has a token longer than 998 characters"
        case .invalidMessageID: "message id must look like <left@right>"
        case .noRecipients: "message has no recipients"
        }
    }
}
