import Domain
import Foundation
import HTTP
import JSON

/// A template that does not parse: which field, and where (line and column).
struct TemplateSaveError: Error, Sendable {
    let field: String
    let error: TemplateError

    /// 400 with the standard error body plus `field`, `line` and `column`.
    var response: HTTPResponse {
        let body: JSON = [
            "success": false, "status": "error", "error": .string("\(field): \(error.description)"),
            "field": .string(field), "line": .int(error.line), "column": .int(error.column),
        ]
        return .json(body, status: .badRequest)
    }
}

/// A validated template version as posted to `POST /templates` or `/templates/{id}/versions`:
/// `{"name", "subject", "html", "text"?, "locale"?}`. The subject, html and text must parse.
struct TemplateDraft: Sendable {
    static let defaultLocale = "en-US"
    static let maximumBytes = 512 * 1024

    var name: String
    var subject: String
    var html: String
    var text: String?
    var locale: String?

    /// Validates the body; `HTTPError` for missing or malformed fields, `TemplateSaveError`
    /// for a template that does not parse.
    static func validate(_ body: JSON) throws -> TemplateDraft {
        guard case .object(let o) = body else { throw HTTPError(.badRequest, "body must be a JSON object") }
        func string(_ key: String, required: Bool) throws -> String? {
            switch o[key] {
            case nil, .null?:
                if required { throw HTTPError(.badRequest, "\(key) is required") }
                return nil
            case .string(let s)?:
                if required && s.trimmingCharacters(in: .whitespaces).isEmpty {
                    throw HTTPError(.badRequest, "\(key) is required")
                }
                guard s.utf8.count <= maximumBytes else { throw HTTPError(.contentTooLarge, "\(key) is too long") }
                return s
            default: throw HTTPError(.badRequest, "\(key) must be a string")
            }
        }
        let draft = TemplateDraft(
            name: try string("name", required: true)!, subject: try string("subject", required: true)!,
            html: try string("html", required: true)!, text: try string("text", required: false),
            locale: try string("locale", required: false))
        if let locale = draft.locale, !LocaleCode.isValid(locale) {
            throw HTTPError(.badRequest, "locale must look like en-US")
        }
        for (field, source) in [("subject", draft.subject), ("html", draft.html), ("text", draft.text ?? "")] {
            do { _ = try Template.parse(source) } catch { throw TemplateSaveError(field: field, error: error) }
        }
        return draft
    }

    /// The `template.version_added` data.
    func versionData(templateID: String, versionID: String, locale: String, at: Int64) -> JSON {
        var o: JSONObject = [
            "template_id": .string(templateID), "version_id": .string(versionID), "name": .string(name),
            "subject": .string(subject), "html": .string(html),
        ]
        if let text { o["text"] = .string(text) }
        o["locale"] = .string(locale)
        o["occurred_at"] = .int64(at)
        return .object(o)
    }
}

/// Locale codes such as `en`, `en-US`, `zh-Hant-TW`: letters and digits in parts of 1 to 8,
/// joined by `-` or `_`.
enum LocaleCode {
    static func isValid(_ text: String) -> Bool {
        guard !text.isEmpty, text.utf8.count <= 35 else { return false }
        let parts = text.split(separator: "-", omittingEmptySubsequences: false).flatMap {
            $0.split(separator: "_", omittingEmptySubsequences: false)
        }
        return parts.allSatisfy { p in (1...8).contains(p.count) && p.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) } }
    }
}

/// Ids for templates and versions: a prefix and 24 hex digits, from a UUID (random, or derived
/// from the Idempotency-Key so a retried request names the same objects).
enum GeneratedID {
    static func make(_ prefix: String, from uuid: UUID) -> String {
        prefix + String(uuid.uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(24))
    }

    /// Whether `text` looks like an id made by `make` with `prefix`.
    static func looksValid(_ text: String, prefix: String) -> Bool {
        text.hasPrefix(prefix) && text.utf8.count <= 64
            && text.dropFirst(prefix.count).allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") }
    }
}
