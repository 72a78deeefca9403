import JSON

/// Typed, error-naming access to one JSON object of a webhook body.
///
/// `place` names the object in errors ("event 3", "SNS message"); field paths are ours, never
/// payload data.
struct EventFields {
    let object: JSONObject
    let place: String

    init(_ object: JSONObject, place: String) {
        self.object = object
        self.place = place
    }

    /// Wraps `value`, which must be an object.
    init(_ value: JSON, place: String, what: String) throws(WebhookError) {
        guard case .object(let object) = value else {
            throw .unexpectedShape("\(what) is not a JSON object")
        }
        self.init(object, place: place)
    }

    /// The member, treating null as absent.
    func value(_ key: String) -> JSON? {
        guard let value = object[key], !value.isNull else { return nil }
        return value
    }

    /// A string member; nil when absent; throws when of another type.
    func string(_ key: String) throws(WebhookError) -> String? {
        guard let value = value(key) else { return nil }
        guard case .string(let text) = value else { throw .invalidField(key, in: place) }
        return text
    }

    /// A string member that must be present.
    func requiredString(_ key: String) throws(WebhookError) -> String {
        guard let text = try string(key) else { throw .missingField(key, in: place) }
        return text
    }

    /// A string or number member as text (custom ids, codes); nil when absent or of another kind.
    func scalarText(_ key: String) -> String? {
        switch value(key) {
        case .string(let text): return text
        case .number(let text): return text
        case .bool(let flag): return flag ? "true" : "false"
        default: return nil
        }
    }

    /// A nested object member; nil when absent; throws when of another type.
    func object(_ key: String) throws(WebhookError) -> EventFields? {
        guard let value = value(key) else { return nil }
        guard case .object(let nested) = value else { throw .invalidField(key, in: place) }
        return EventFields(nested, place: place)
    }

    /// An array member; nil when absent; throws when of another type.
    func array(_ key: String) throws(WebhookError) -> [JSON]? {
        guard let value = value(key) else { return nil }
        guard case .array(let items) = value else { throw .invalidField(key, in: place) }
        return items
    }

    /// A boolean member; nil when absent; throws when of another type.
    func bool(_ key: String) throws(WebhookError) -> Bool? {
        guard let value = value(key) else { return nil }
        guard case .bool(let flag) = value else { throw .invalidField(key, in: place) }
        return flag
    }

    /// A required unix time in seconds (integer or decimal, number or numeric string) as
    /// milliseconds.
    func unixSecondsAsMilliseconds(_ key: String) throws(WebhookError) -> Int64 {
        guard let value = value(key) else { throw .missingField(key, in: place) }
        let text: String
        switch value {
        case .number(let literal): text = literal
        case .string(let literal): text = literal
        default: throw .invalidField(key, in: place)
        }
        guard let ms = ProviderTimestamp.milliseconds(unixSeconds: text) else { throw .invalidField(key, in: place) }
        return ms
    }

    /// A required ISO 8601 time as unix milliseconds.
    func isoTimeAsMilliseconds(_ key: String) throws(WebhookError) -> Int64 {
        let text = try requiredString(key)
        guard let ms = ProviderTimestamp.milliseconds(iso8601: text) else { throw .invalidField(key, in: place) }
        return ms
    }
}

extension JSON {
    /// Parses a webhook body, mapping parse failures to ``WebhookError``.
    static func parseWebhookBody(_ bytes: some Collection<UInt8>) throws(WebhookError) -> JSON {
        do {
            return try JSON.parse(bytes)
        } catch {
            throw .malformedJSON(error)
        }
    }
}
