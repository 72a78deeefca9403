import JSON

/// The `Type` of a `/v1/Email/` message (seed 003). `purchase` appears only in history, never
/// in a send request, so it is not a case here.
public enum EmailSendType: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case token
    case group
    case tokenAndGroup

    /// Whether `Token` and `NumPhotos` are required.
    public var needsToken: Bool { self != .group }
    /// Whether `GroupId` is required.
    public var needsGroup: Bool { self != .token }

    public var description: String { rawValue }
}

/// Why one `/v1/Email/` message was refused; its `description` is the per-message `Error`
/// string (with HTTP 400), naming fields, never echoing their values.
public enum EmailSendRequestError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The message is not a JSON object.
    case notAnObject
    /// A required field is missing, null or an empty string (`field` is its wire name).
    case missing(field: String)
    /// A field has the wrong JSON type (`expected` e.g. "a string").
    case wrongType(field: String, expected: String)
    /// `Type` is not one of token, group, tokenAndGroup.
    case unknownType
    /// `Token`, `NumPhotos` or `GroupId` missing for a `Type` that needs it.
    case requiredForType(field: String, type: EmailSendType)
    /// `NumPhotos` is not an integer ≥ -1.
    case invalidNumPhotos
    /// `To` is not a valid address.
    case invalidTo(EmailAddressProblem)

    public var description: String {
        switch self {
        case .notAnObject: return "each message must be a JSON object"
        case .missing(let field): return "\(field) is required"
        case .wrongType(let field, let expected): return "\(field) must be \(expected)"
        case .unknownType: return "Type must be one of token, group, tokenAndGroup"
        case .requiredForType(let field, let type): return "\(field) is required for Type \(type.rawValue)"
        case .invalidNumPhotos: return "NumPhotos must be an integer >= -1 (-1 means unlimited)"
        case .invalidTo(let problem): return "To is not a valid email address: it \(problem)"
        }
    }
}

/// One validated `/v1/Email/` message.
///
/// Fields the `Type` does not use (a `Token` on a `group` message, a `GroupId` on a `token`
/// message) are ignored and come out nil, whatever they held. Unknown fields are ignored.
/// Whether `BrandId` names an existing brand is for the caller to check.
public struct EmailSendRequest: Sendable, Hashable {
    public var to: String
    public var type: EmailSendType
    public var brandID: String
    /// Present exactly when `type.needsToken`.
    public var token: String?
    /// Present exactly when `type.needsToken`; -1 means unlimited.
    public var numPhotos: Int?
    /// Present exactly when `type.needsGroup`.
    public var groupID: String?

    public init(
        to: String, type: EmailSendType, brandID: String, token: String? = nil, numPhotos: Int? = nil,
        groupID: String? = nil
    ) {
        self.to = to
        self.type = type
        self.brandID = brandID
        self.token = token
        self.numPhotos = numPhotos
        self.groupID = groupID
    }

    /// Validates one element of `Messages`. Checks, in order: object; `To` (present, string,
    /// valid address); `Type`; `BrandId`; then `Token`, `NumPhotos`, `GroupId` as the type needs.
    public static func validate(_ message: JSON) throws(EmailSendRequestError) -> EmailSendRequest {
        guard case .object(let o) = message else { throw .notAnObject }
        let to = try requiredString(o, "To")
        if let problem = EmailAddressRules.problem(with: to) { throw .invalidTo(problem) }
        let typeText = try requiredString(o, "Type")
        guard let type = EmailSendType(rawValue: typeText) else { throw .unknownType }
        let brand = try requiredString(o, "BrandId")
        var request = EmailSendRequest(to: to, type: type, brandID: brand)
        if type.needsToken {
            request.token = try stringForType(o, "Token", type)
            switch o["NumPhotos"] {
            case nil, .null?: throw .requiredForType(field: "NumPhotos", type: type)
            case .number?:
                guard let n = o["NumPhotos"]?.intValue, n >= -1 else { throw .invalidNumPhotos }
                request.numPhotos = n
            default: throw .wrongType(field: "NumPhotos", expected: "an integer")
            }
        }
        if type.needsGroup { request.groupID = try stringForType(o, "GroupId", type) }
        return request
    }

    /// The message as `MsgDetails` in history: `To, Type, BrandId`, then `Token, NumPhotos`
    /// and/or `GroupId` when present.
    public var msgDetails: JSONObject {
        var o: JSONObject = ["To": .string(to), "Type": .string(type.rawValue), "BrandId": .string(brandID)]
        if let token { o["Token"] = .string(token) }
        if let numPhotos { o["NumPhotos"] = .int(numPhotos) }
        if let groupID { o["GroupId"] = .string(groupID) }
        return o
    }

    static func requiredString(_ o: JSONObject, _ field: String) throws(EmailSendRequestError) -> String {
        switch o[field] {
        case nil, .null?: throw .missing(field: field)
        case .string(let s)?:
            if s.isEmpty { throw .missing(field: field) }
            return s
        default: throw .wrongType(field: field, expected: "a string")
        }
    }

    static func stringForType(_ o: JSONObject, _ field: String, _ type: EmailSendType) throws(EmailSendRequestError)
        -> String
    {
        switch o[field] {
        case nil, .null?: throw .requiredForType(field: field, type: type)
        case .string(let s)?:
            if s.isEmpty { throw .requiredForType(field: field, type: type) }
            return s
        default: throw .wrongType(field: field, expected: "a string")
        }
    }
}
