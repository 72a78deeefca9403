import Domain
import JSON
import Postgres

/// How each message event moves a row of `delivery_outbox`. Both the projection (for every
/// event in the table) and the worker (right after its own appends) call `apply`, so the row
/// always agrees with the events; the `version` guard makes the second application a no-op.
///
/// States: `pending` (due at `due_at`), `sending` (the worker holds it until `lease_until`),
/// `sent`, `dropped`.
enum OutboxTransitions {
    /// How long a `sending` row stays with the worker before another pick may retry it
    /// (only after a crash: the worker keeps its own in-flight set).
    static let leaseSeconds = 600

    /// Applies the message event `type` with `data` at stream `version` to the row.
    static func apply(
        tenant: String, messageHex: String, version: Int64, type: String, data: JSON, on c: PostgresConnection
    ) throws {
        switch type {
        case EventCatalog.messageRequested, EventCatalog.messageTriggered:
            try c.execute(
                """
                INSERT INTO delivery_outbox (tenant, message_hex, state, due_at, attempts, version, template_id,
                    template_name, version_name, locale, recipient_subject, created_at)
                VALUES ($1, $2, 'pending', now(), 0, $3, $4, $5, $6, $7, $8, $9)
                ON CONFLICT (tenant, message_hex) DO UPDATE SET state = 'pending', due_at = now(), attempts = 0,
                    lease_until = NULL, version = EXCLUDED.version
                WHERE delivery_outbox.version < EXCLUDED.version
                """,
                [tenant, messageHex, version, data["template_id"]?.stringValue ?? "",
                 data["template_name"]?.stringValue ?? "", data["template_version"]?.stringValue ?? "",
                 data["locale"]?.stringValue ?? "", data["recipient_subject"]?.stringValue ?? "",
                 data["occurred_at"]?.intValue ?? 0])
        case EventCatalog.messageResendRequested:
            try update(
                "state = 'pending', due_at = now(), attempts = 0, lease_until = NULL", tenant, messageHex, version, [], c)
        case EventCatalog.messageQueued:
            try update(
                "state = 'sending', lease_until = now() + make_interval(secs => \(leaseSeconds))", tenant, messageHex,
                version, [], c)
        case EventCatalog.messageSent:
            try update("state = 'sent', lease_until = NULL", tenant, messageHex, version, [], c)
        case EventCatalog.messageFailedToSend:
            let next = Double(data["next_retry_at"]?.intValue ?? 0) / 1000
            try update(
                "state = 'pending', lease_until = NULL, due_at = to_timestamp($4), attempts = $5", tenant, messageHex,
                version, [next, data["attempt"]?.intValue ?? 1], c)
        case EventCatalog.messageDropped:
            try update("state = 'dropped', lease_until = NULL", tenant, messageHex, version, [], c)
        default:
            // Provider events and anything else: only the version moves.
            try update("version = version", tenant, messageHex, version, [], c)
        }
    }

    private static func update(
        _ assignments: String, _ tenant: String, _ hex: String, _ version: Int64, _ extra: [any PostgresEncodable],
        _ c: PostgresConnection
    ) throws {
        try c.execute(
            """
            UPDATE delivery_outbox SET \(assignments), version = $3
            WHERE tenant = $1 AND message_hex = $2 AND version < $3
            """, [tenant, hex, version] + extra)
    }
}
