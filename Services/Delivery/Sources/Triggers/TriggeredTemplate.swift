import JSON
import Postgres

/// Names the template a triggered message is sent with, the way `/send` does: when the
/// dispatcher appends `message.triggered` it fills `template_id` (a brand trigger's template
/// comes from the brand's `templates[email_type]`), `template_name`, `template_version`,
/// `template_version_id` and `locale` from delivery's template tables, so the log summary shows
/// them and the outbox renders exactly that version. When the template cannot be found the
/// members stay as they were and the outbox records why it cannot send.
enum TriggeredTemplate {
    /// The clear members of the event with the template named (pure).
    static func named(_ clear: JSONObject, template: TemplateRecord?, customerLocale: String?) -> JSONObject {
        guard let template else { return clear }
        let requested = clear["locale"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
        guard
            let version = TemplateVersionChoice.choose(
                template, requestedLocale: requested, customerLocale: customerLocale, versionName: nil)
        else { return clear }
        var out = clear
        out["template_id"] = .string(template.id)
        out["template_name"] = .string(template.name)
        out["template_version"] = .string(version.name)
        out["template_version_id"] = .string(version.id)
        out["locale"] = .string(version.locale)
        return out
    }

    /// The template id a triggered message names: its own, else its brand's for its email type.
    static func templateID(_ clear: JSONObject, brand: JSONObject?) -> String? {
        if let id = clear["template_id"]?.stringValue, !id.isEmpty { return id }
        guard let type = clear["email_type"]?.stringValue else { return nil }
        return brand?["templates"]?[type]?.stringValue
    }

    /// Reads the template (and brand, customer locale) on `c` and names it in `clear`.
    static func resolve(
        _ clear: JSONObject, tenant: String, recipientSubject: String, readModel: DeliveryReadModel,
        on c: PostgresConnection
    ) throws -> JSONObject {
        let brand = try clear["brand_id"]?.stringValue.flatMap { try readModel.brand(tenant: tenant, id: $0, on: c) }
        guard let id = templateID(clear, brand: brand),
            let template = try readModel.templates(tenant: tenant, id: id, on: c).first
        else { return clear }
        let customer = try readModel.customer(tenant: tenant, emailSubject: recipientSubject, on: c)
        return named(clear, template: template, customerLocale: customer?.locale)
    }
}
