import Foundation
import Domain
import HTTP
import JSON
import Mail

/// A validated `PUT /v1/Brands/{BrandId}` body: `{"Name", "From", "ReplyTo"?, "ListUnsubscribe"?,
/// "Templates": {"token"?, "group"?, "tokenAndGroup"?, "purchase"?: "tem_..."}}`. `From` and
/// `ReplyTo` are an address or `Display Name <address>`.
struct BrandDraft: Sendable {
    static let templateTypes = ["token", "group", "tokenAndGroup", "purchase"]

    var brandID: String
    var name: String
    var from: Mailbox
    var replyTo: Mailbox?
    var listUnsubscribe: String?
    /// Type → template id, in `templateTypes` order.
    var templates: [(type: String, templateID: String)]

    /// Validates the brand id and body (template ids are checked for existence by the caller).
    static func validate(brandID: String, _ body: JSON) throws(HTTPError) -> BrandDraft {
        guard !brandID.isEmpty, brandID.utf8.count <= 100,
            brandID.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") })
        else { throw HTTPError(.badRequest, "BrandId must be 1 to 100 letters, digits, '-' or '_'") }
        guard case .object(let o) = body else { throw HTTPError(.badRequest, "body must be a JSON object") }
        guard let name = o["Name"]?.stringValue, !name.isEmpty else { throw HTTPError(.badRequest, "Name is required") }
        guard let fromText = o["From"]?.stringValue else { throw HTTPError(.badRequest, "From is required") }
        guard let from = Mailbox(parsing: fromText) else { throw HTTPError(.badRequest, "From is not a valid address") }
        var replyTo: Mailbox?
        switch o["ReplyTo"] {
        case nil, .null?: break
        case .string(let s)?:
            guard let m = Mailbox(parsing: s) else { throw HTTPError(.badRequest, "ReplyTo is not a valid address") }
            replyTo = m
        default: throw HTTPError(.badRequest, "ReplyTo must be a string")
        }
        var listUnsubscribe: String?
        switch o["ListUnsubscribe"] {
        case nil, .null?: break
        case .string(let s)?:
            guard !s.isEmpty, s.utf8.count <= 500, !s.contains("\r"), !s.contains("\n") else {
                throw HTTPError(.badRequest, "ListUnsubscribe must be one line such as <mailto:...>, <https://...>")
            }
            listUnsubscribe = s
        default: throw HTTPError(.badRequest, "ListUnsubscribe must be a string")
        }
        guard case .object(let t)? = o["Templates"] else {
            throw HTTPError(.badRequest, "Templates must be an object mapping email types to template ids")
        }
        var templates: [(String, String)] = []
        for key in t.keys where !templateTypes.contains(key) {
            throw HTTPError(.badRequest, "Templates has an unknown type \(key.prefix(40)) (known: token, group, tokenAndGroup, purchase)")
        }
        for type in templateTypes {
            switch t[type] {
            case nil, .null?: continue
            case .string(let id)? where GeneratedID.looksValid(id, prefix: "tem_"): templates.append((type, id))
            default: throw HTTPError(.badRequest, "Templates.\(type) must be a template id (tem_...)")
            }
        }
        return BrandDraft(
            brandID: brandID, name: name, from: from, replyTo: replyTo, listUnsubscribe: listUnsubscribe,
            templates: templates.map { (type: $0.0, templateID: $0.1) })
    }

    /// The `brand.saved` data.
    func eventData(at: Int64) -> JSON {
        var o: JSONObject = ["brand_id": .string(brandID), "name": .string(name), "from": from.json]
        if let replyTo { o["reply_to"] = replyTo.json }
        if let listUnsubscribe { o["list_unsubscribe"] = .string(listUnsubscribe) }
        o["templates"] = .object(JSONObject(templates.map { ($0.type, JSON.string($0.templateID)) }))
        o["occurred_at"] = .int64(at)
        return .object(o)
    }

    /// The `/v1/Brands` shape of a saved brand (`brand.saved` data).
    static func wireShape(_ data: JSONObject) -> JSON {
        var o: JSONObject = [
            "BrandId": data["brand_id"] ?? .null, "Name": data["name"] ?? .null,
            "From": .string(Mailbox(json: data["from"])?.text ?? ""),
        ]
        o["ReplyTo"] = Mailbox(json: data["reply_to"]).map { JSON.string($0.text) } ?? .null
        o["ListUnsubscribe"] = data["list_unsubscribe"] ?? .null
        o["Templates"] = data["templates"] ?? .object([:])
        return .object(o)
    }
}

/// An address with an optional display name, as given in requests and brands.
struct Mailbox: Sendable, Hashable {
    var address: String
    var name: String?

    /// `strict`: the product's address rules (requests, brands); otherwise only what is safe in
    /// a header and an SMTP command (configuration such as `noreply@localhost`).
    init?(address: String, name: String?, strict: Bool = true) {
        guard strict ? EmailAddressRules.isValid(address) : MailAddress(address).isValidAddress else { return nil }
        self.address = address
        self.name = name.flatMap { $0.isEmpty ? nil : $0 }
        if let n = self.name, n.contains("\r") || n.contains("\n") || n.utf8.count > 200 { return nil }
    }

    /// `address` or `Display Name <address>`.
    init?(parsing text: String, strict: Bool = true) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.hasSuffix(">"), let open = trimmed.lastIndex(of: "<") {
            let address = String(trimmed[trimmed.index(after: open)..<trimmed.index(before: trimmed.endIndex)])
            var name = trimmed[..<open].trimmingCharacters(in: .whitespaces)
            if name.hasPrefix("\""), name.hasSuffix("\""), name.count >= 2 { name = String(name.dropFirst().dropLast()) }
            self.init(address: address, name: name, strict: strict)
        } else {
            self.init(address: trimmed, name: nil, strict: strict)
        }
    }

    /// `{"address", "name"?}`.
    init?(json: JSON?) {
        guard let address = json?["address"]?.stringValue else { return nil }
        self.init(address: address, name: json?["name"]?.stringValue)
    }

    var json: JSON {
        var o: JSONObject = ["address": .string(address)]
        if let name { o["name"] = .string(name) }
        return .object(o)
    }

    var text: String { name.map { "\($0) <\(address)>" } ?? address }
}
