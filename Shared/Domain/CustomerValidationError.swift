/// Why customer input was refused: each case maps to a 400 response. The `description` names the
/// attribute (or field) at fault and the limit broken, never the value sent.
public enum CustomerValidationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The customer id is empty.
    case emptyCustomerID
    /// The customer id is longer than `maximumBytes` UTF-8 bytes.
    case customerIDTooLong(maximumBytes: Int)
    /// The customer id contains a control character (it is used in URL paths and logs).
    case customerIDHasControlCharacter
    /// An attribute name is empty.
    case emptyAttributeName
    /// An attribute name is longer than `maximumBytes` UTF-8 bytes (the name is not repeated).
    case attributeNameTooLong(maximumBytes: Int)
    /// The attribute's value is an object or an array; only strings, numbers and booleans are allowed.
    case nestedValue(attribute: String)
    /// The attribute's value is JSON `null`, which is refused (merges never remove attributes).
    case nullValue(attribute: String)
    /// The attribute's value is longer than `maximumBytes` (UTF-8 bytes of a string, or the
    /// length of a number's literal).
    case valueTooLong(attribute: String, maximumBytes: Int)
    /// After the merge the customer would have `count` attributes, more than `maximum`.
    case tooManyAttributes(count: Int, maximum: Int)
    /// The email address is missing where one is required.
    case missingEmail
    /// The email address is not syntactically valid.
    case invalidEmail(EmailAddressProblem)

    public var description: String {
        switch self {
        case .emptyCustomerID: return "customer id must not be empty"
        case .customerIDTooLong(let max): return "customer id is longer than \(max) bytes"
        case .customerIDHasControlCharacter: return "customer id contains a control character"
        case .emptyAttributeName: return "attribute names must not be empty"
        case .attributeNameTooLong(let max): return "an attribute name is longer than \(max) bytes"
        case .nestedValue(let name):
            return "attribute \(Self.quoted(name)) must be a string, number or boolean, not an object or array"
        case .nullValue(let name):
            return "attribute \(Self.quoted(name)) must be a string, number or boolean, not null"
        case .valueTooLong(let name, let max): return "attribute \(Self.quoted(name)) is longer than \(max) bytes"
        case .tooManyAttributes(let count, let max):
            return "a customer may have at most \(max) attributes (this update would give \(count))"
        case .missingEmail: return "email is required"
        case .invalidEmail(let problem): return "email is not a valid address: it \(problem)"
        }
    }

    /// The attribute name in quotes, control characters shown as `?` so a message stays one line.
    static func quoted(_ name: String) -> String {
        var out = "\""
        for s in name.unicodeScalars {
            if s.value < 0x20 || s.value == 0x7F { out.append("?") } else { out.unicodeScalars.append(s) }
        }
        out.append("\"")
        return out
    }
}
