import JSON

/// The limits and checks on customer ids, attributes and emails shared by every service.
///
/// Attribute values must be simple: a string, a number (kept as its literal) or a boolean.
/// Objects and arrays are refused naming the attribute. JSON `null` is refused too
/// (`CustomerValidationError.nullValue`): the product's merge never removes an attribute, so a
/// null could only be stored as a value no API reader expects, and accepting it silently as
/// "remove" would contradict the documented merge. Form-encoded input (customer.io style) only
/// ever produces strings, so the rule matters for JSON bodies only.
public enum CustomerAttributeRules {
    /// The most UTF-8 bytes in a customer id.
    public static let maximumCustomerIDBytes = 150
    /// The most UTF-8 bytes in an attribute name.
    public static let maximumAttributeNameBytes = 150
    /// The most attributes a customer may have, counted after the merge.
    public static let maximumAttributeCount = 300
    /// The most bytes in one value: a string's UTF-8 length or a number literal's length.
    public static let maximumValueBytes = 1_000

    /// Checks a customer id: 1...150 UTF-8 bytes, no control characters.
    public static func validateCustomerID(_ id: String) throws(CustomerValidationError) {
        if id.isEmpty { throw .emptyCustomerID }
        if id.utf8.count > maximumCustomerIDBytes { throw .customerIDTooLong(maximumBytes: maximumCustomerIDBytes) }
        if id.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            throw .customerIDHasControlCharacter
        }
    }

    /// Checks an email address with `EmailAddressRules`.
    public static func validateEmail(_ email: String) throws(CustomerValidationError) {
        if let problem = EmailAddressRules.problem(with: email) { throw .invalidEmail(problem) }
    }

    /// Checks one attribute's name and value.
    public static func validateAttribute(name: String, value: JSON) throws(CustomerValidationError) {
        if name.isEmpty { throw .emptyAttributeName }
        if name.utf8.count > maximumAttributeNameBytes {
            throw .attributeNameTooLong(maximumBytes: maximumAttributeNameBytes)
        }
        switch value {
        case .object, .array: throw .nestedValue(attribute: name)
        case .null: throw .nullValue(attribute: name)
        case .bool: return
        case .number(let literal):
            if literal.utf8.count > maximumValueBytes {
                throw .valueTooLong(attribute: name, maximumBytes: maximumValueBytes)
            }
        case .string(let s):
            if s.utf8.count > maximumValueBytes {
                throw .valueTooLong(attribute: name, maximumBytes: maximumValueBytes)
            }
        }
    }

    /// Checks every attribute of an update (names and values, in order; the first error is
    /// thrown). Does not check the count: use `validatedMerge` for that.
    public static func validateAttributes(_ attributes: JSONObject) throws(CustomerValidationError) {
        for (name, value) in attributes.members { try validateAttribute(name: name, value: value) }
    }

    /// Validates `update`, merges it into `existing` (see `CustomerProfile.merge`) and checks
    /// that the result has at most `maximumAttributeCount` attributes. Returns the merged object.
    public static func validatedMerge(existing: JSONObject, update: JSONObject) throws(CustomerValidationError)
        -> JSONObject
    {
        try validateAttributes(update)
        let merged = CustomerProfile.merge(existing: existing, update: update)
        if merged.count > maximumAttributeCount {
            throw .tooManyAttributes(count: merged.count, maximum: maximumAttributeCount)
        }
        return merged
    }
}
