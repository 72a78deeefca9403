import JSON

/// Why a webhook body could not be read.
///
/// Descriptions name the field and the position of the event in the batch, never values from
/// the payload (addresses, tokens, message text), so they are safe to log and to return.
public enum WebhookError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The body is not valid JSON (truncated, malformed, not UTF-8).
    case malformedJSON(JSONParseError)
    /// The body is JSON but not of the expected shape (e.g. "body is not a JSON array").
    case unexpectedShape(String)
    /// A required field is absent (or null) in the named place ("event 3", "SNS message").
    case missingField(String, in: String)
    /// A field is present but of the wrong type or format.
    case invalidField(String, in: String)

    public var description: String {
        switch self {
        case .malformedJSON(let error): return "body is not valid JSON: \(error)"
        case .unexpectedShape(let what): return what
        case .missingField(let field, let place): return "missing field \(field) in \(place)"
        case .invalidField(let field, let place): return "field \(field) in \(place) has the wrong type or format"
        }
    }
}
