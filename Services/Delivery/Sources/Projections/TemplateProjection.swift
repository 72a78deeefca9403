import Domain
import EventStore
import Postgres

/// Templates and their versions (`delivery_templates`, `delivery_template_versions`).
final class TemplateProjection: Projection {
    let name = "delivery_templates"

    /// The types `apply` acts on (the runner skips the JSON of the others).
    let eventTypes: Set<String>? = [EventCatalog.templateCreated, EventCatalog.templateVersionAdded]

    func apply(_ events: [RecordedEvent], on connection: PostgresConnection) throws {
        for e in events {
            switch e.type {
            case EventCatalog.templateCreated:
                guard let id = e.string("template_id"), let name = e.string("name") else { continue }
                try connection.execute(
                    """
                    INSERT INTO delivery_templates (tenant, template_id, name, default_locale, created_at)
                    VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant, template_id) DO NOTHING
                    """, [e.tenant, id, name, e.string("locale") ?? "en-US", e.occurredAtMilliseconds / 1000])
            case EventCatalog.templateVersionAdded:
                guard let id = e.string("template_id"), let versionID = e.string("version_id"),
                    let name = e.string("name"), let subject = e.string("subject"), let html = e.string("html")
                else { continue }
                try connection.execute(
                    """
                    INSERT INTO delivery_template_versions
                        (tenant, template_id, version_id, name, subject, html, text, locale, created_at, position)
                    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (tenant, version_id) DO NOTHING
                    """,
                    [e.tenant, id, versionID, name, subject, html, e.string("text"), e.string("locale") ?? "en-US",
                     e.occurredAtMilliseconds / 1000, e.position])
            default:
                continue
            }
        }
    }

    func reset(on connection: PostgresConnection) throws {
        try connection.execute("DELETE FROM delivery_template_versions")
        try connection.execute("DELETE FROM delivery_templates")
    }
}
