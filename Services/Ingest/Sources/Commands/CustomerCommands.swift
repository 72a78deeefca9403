import Domain
import Foundation
import JSON

/// A validated create/update of a customer: what `customer.upserted` records.
struct CustomerUpsert: Sendable, Equatable {
    /// The customer id (sendwithus: the lowercased email).
    var id: String
    var email: String?
    var attributes: JSONObject
    var locale: String?
    /// customer.io's `created_at` (unix seconds), when given.
    var createdAt: Int64?

    /// The personal part sealed into the event.
    var sealedPart: JSON {
        var o: JSONObject = ["id": .string(id), "attributes": .object(attributes)]
        if let email { o["email"] = .string(email) }
        if let locale { o["locale"] = .string(locale) }
        if let createdAt { o["created_at"] = .int64(createdAt) }
        return .object(o)
    }
}

/// A validated tracked event.
struct TrackedEvent: Sendable, Equatable {
    var customerID: String
    var name: String
    var data: JSONObject
    /// Unix milliseconds, when the client gave a timestamp.
    var timestampMilliseconds: Int64?
    /// The client's event id (deduplication), when given.
    var clientEventID: String?

    var sealedPart: JSON { ["id": .string(customerID), "data": .object(data)] }
}

/// A 400 with a clear message; `field` names what was wrong.
struct IngestValidationError: Error, Sendable, Equatable, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Pure parsing and validation of ingest requests.
enum CustomerCommands {
    static let maximumEventNameBytes = 150

    /// `POST /customers` (sendwithus): `{"email", "data"?, "locale"?}`.
    static func sendwithusUpsert(_ body: JSON) throws(IngestValidationError) -> CustomerUpsert {
        guard let object = body.objectValue else { throw IngestValidationError("body must be a JSON object") }
        guard let emailValue = object["email"] else { throw IngestValidationError("email is required") }
        guard let email = emailValue.stringValue else { throw IngestValidationError("email must be a string") }
        let normalized = try validatedEmail(email)
        var attributes = JSONObject()
        if let data = object["data"], !data.isNull {
            guard let d = data.objectValue else { throw IngestValidationError("data must be an object") }
            attributes = d
        }
        try validate(attributes)
        let locale = try locale(object["locale"])
        return CustomerUpsert(id: normalized, email: normalized, attributes: attributes, locale: locale, createdAt: nil)
    }

    /// `PUT /api/v1/customers/{id}` (customer.io): attributes as a flat object (form or JSON).
    /// `email` and `created_at` are attributes with meaning; everything else is data.
    static func customerIOUpsert(id: String, body: JSON?) throws(IngestValidationError) -> CustomerUpsert {
        let id = try validatedID(id)
        var attributes = JSONObject()
        if let body {
            guard let object = body.objectValue else { throw IngestValidationError("body must be an object of attributes") }
            attributes = object
        }
        var email: String?
        if let e = attributes["email"] {
            attributes["email"] = nil
            guard let s = e.stringValue else { throw IngestValidationError("email must be a string") }
            if !s.isEmpty { email = try validatedEmail(s) }
        }
        var createdAt: Int64?
        if let c = attributes["created_at"] {
            attributes["created_at"] = nil
            createdAt = try unixSeconds(c, field: "created_at")
        }
        try validate(attributes)
        return CustomerUpsert(id: id, email: email, attributes: attributes, locale: nil, createdAt: createdAt)
    }

    /// `POST /api/v1/customers/{id}/events`: `name` required; `data` object; `timestamp`; `id`.
    static func trackedEvent(customerID: String, body: JSON?) throws(IngestValidationError) -> TrackedEvent {
        let id = try validatedID(customerID)
        guard let object = body?.objectValue else { throw IngestValidationError("name is required") }
        guard let nameValue = object["name"] else { throw IngestValidationError("name is required") }
        guard let name = nameValue.stringValue else { throw IngestValidationError("name must be a string") }
        guard !name.isEmpty else { throw IngestValidationError("name must not be empty") }
        guard name.utf8.count <= maximumEventNameBytes else {
            throw IngestValidationError("name is longer than \(maximumEventNameBytes) bytes")
        }
        var data = JSONObject()
        if let d = object["data"], !d.isNull {
            guard let o = d.objectValue else { throw IngestValidationError("data must be an object") }
            data = o
        }
        try validate(data)
        var timestamp: Int64?
        if let t = object["timestamp"] { timestamp = try unixSeconds(t, field: "timestamp") * 1000 }
        var clientID: String?
        if let e = object["id"] {
            guard let s = e.stringValue ?? e.numberText, !s.isEmpty, s.utf8.count <= 150 else {
                throw IngestValidationError("id must be a string of 1 to 150 bytes")
            }
            clientID = s
        }
        for (key, _) in object {
            switch key {
            case "name", "data", "timestamp", "id": continue
            default: throw IngestValidationError("unknown field \(key)")
            }
        }
        return TrackedEvent(customerID: id, name: name, data: data, timestampMilliseconds: timestamp, clientEventID: clientID)
    }

    static func validatedEmail(_ email: String) throws(IngestValidationError) -> String {
        guard !email.isEmpty else { throw IngestValidationError("email must not be empty") }
        do { try CustomerAttributeRules.validateEmail(email) } catch { throw IngestValidationError(error.description) }
        return email.lowercased()
    }

    static func validatedID(_ id: String) throws(IngestValidationError) -> String {
        do { try CustomerAttributeRules.validateCustomerID(id) } catch { throw IngestValidationError(error.description) }
        return id
    }

    static func validate(_ attributes: JSONObject) throws(IngestValidationError) {
        guard attributes.count <= CustomerAttributeRules.maximumAttributeCount else {
            throw IngestValidationError(
                "more than \(CustomerAttributeRules.maximumAttributeCount) attributes (\(attributes.count))")
        }
        do { try CustomerAttributeRules.validateAttributes(attributes) } catch { throw IngestValidationError(error.description) }
    }

    static func locale(_ value: JSON?) throws(IngestValidationError) -> String? {
        guard let value, !value.isNull else { return nil }
        guard let s = value.stringValue, !s.isEmpty, s.utf8.count <= 35,
            s.unicodeScalars.allSatisfy({ $0.isASCII && (CharacterSet.alphanumerics.contains($0) || $0 == "-" || $0 == "_") })
        else { throw IngestValidationError("locale must be a language tag such as en-US") }
        return s
    }

    /// Unix seconds from a number or a numeric string (form values are strings).
    static func unixSeconds(_ value: JSON, field: String) throws(IngestValidationError) -> Int64 {
        let text = value.numberText ?? value.stringValue ?? ""
        if let i = Int64(text), i >= 0, i < 32_503_680_000 { return i }
        if let d = Double(text), d >= 0, d < 32_503_680_000 { return Int64(d) }
        throw IngestValidationError("\(field) must be unix seconds")
    }
}
