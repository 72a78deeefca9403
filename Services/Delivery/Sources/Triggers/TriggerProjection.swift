import Domain
import EventStore
import Foundation
import JSON
import Postgres
import Privacy

/// The trigger process. Keeps trigger definitions, drip campaigns and a minimal customer table,
/// and turns tracked events that match an active trigger, and scheduled drip steps, into rows of
/// `scheduled_sends` (in the runner's transaction, so exactly once per event with the checkpoint).
/// It never appends: `ScheduledSendDispatcher` appends each row's `message.triggered` when due.
/// Committing a new row notifies channel `delivery_scheduled` (NOTIFY is delivered at commit).
/// A `suppression.added` turns the recipient's pending drip steps into `cancelling` rows, whose
/// `drip.step_cancelled` (with the reason) the dispatcher appends.
final class TriggerProjection: Projection {
    static let notifyChannel = "delivery_scheduled"

    let name = "delivery_triggers"
    let vault: PersonalDataVault

    init(vault: PersonalDataVault) { self.vault = vault }

    /// The types `apply` acts on (the runner skips the JSON of the others).
    let eventTypes: Set<String>? = [
        TriggerEvents.triggerCreated, TriggerEvents.triggerDeactivated, TriggerEvents.dripCampaignCreated,
        EventCatalog.customerUpserted, EventCatalog.customerDeleted, EventCatalog.customerEventTracked,
        TriggerEvents.dripStepScheduled, TriggerEvents.dripStepCancelled, EventCatalog.messageTriggered,
        EventCatalog.suppressionAdded,
    ]

    func apply(_ events: [RecordedEvent], on c: PostgresConnection) throws {
        var scheduled = false
        for e in events {
            switch e.type {
            case TriggerEvents.triggerCreated: try triggerCreated(e, on: c)
            case TriggerEvents.triggerDeactivated:
                guard let id = e.data["trigger_id"]?.stringValue.flatMap(UUID.init(uuidString:)) else { continue }
                try c.execute(
                    "UPDATE trigger_definitions SET active = false, deactivated_at = $3 WHERE tenant = $1 AND trigger_id = $2 AND active",
                    [e.tenant, id, e.occurredAtMilliseconds])
            case TriggerEvents.dripCampaignCreated:
                guard let o = e.data.objectValue, let campaign = DripCampaign(eventData: o) else { continue }
                try c.execute(
                    """
                    INSERT INTO drip_campaigns (tenant, campaign_id, name, steps, created_at) VALUES ($1, $2, $3, $4, $5)
                    ON CONFLICT DO NOTHING
                    """, [e.tenant, campaign.id, campaign.name, (o["steps"] ?? []).text, e.occurredAtMilliseconds])
            case EventCatalog.customerUpserted: try customerUpserted(e, on: c)
            case EventCatalog.customerDeleted: try customerDeleted(e, on: c)
            case EventCatalog.customerEventTracked: scheduled = try eventTracked(e, on: c) || scheduled
            case TriggerEvents.dripStepScheduled: scheduled = try stepScheduled(e, on: c) || scheduled
            case TriggerEvents.dripStepCancelled:
                guard let id = e.data["message_id"]?.stringValue.flatMap(UUID.init(uuidString:)) else { continue }
                try c.execute(
                    """
                    UPDATE scheduled_sends SET state = 'cancelled', cancel_reason = $2, \(TriggerSchema.clearedWhenFinal)
                    WHERE message_id = $1 AND state IN ('pending', 'cancelling', 'cancelled')
                    """, [id, e.data["reason"]?.stringValue ?? "cancelled"])
            case EventCatalog.messageTriggered:
                guard let id = e.data["message_id"]?.stringValue.flatMap(UUID.init(uuidString:)) else { continue }
                try c.execute(
                    """
                    UPDATE scheduled_sends SET state = 'sent', \(TriggerSchema.clearedWhenFinal)
                    WHERE message_id = $1 AND state IN ('pending', 'cancelling')
                    """, [id])
            case EventCatalog.suppressionAdded: scheduled = try suppressionAdded(e, on: c) || scheduled
            default: continue
            }
        }
        if scheduled { try c.execute("SELECT pg_notify($1, '')", [Self.notifyChannel]) }
    }

    func reset(on c: PostgresConnection) throws {
        try c.executeScript(
            "DELETE FROM trigger_definitions; DELETE FROM trigger_customers; DELETE FROM drip_campaigns; DELETE FROM scheduled_sends;")
    }

    // MARK: Events

    /// The sealed part of an event, or nil when its key was destroyed (erased subject).
    private func open(_ e: RecordedEvent, on c: PostgresConnection) throws -> JSONObject? {
        guard let sealed = e.data["sealed"]?.stringValue, let keyText = e.metadata["key_id"]?.stringValue,
            let keyID = UUID(uuidString: keyText)
        else { return nil }
        return try vault.open(sealed, keyID: keyID, tenant: e.tenant, on: c)?.objectValue
    }

    private func triggerCreated(_ e: RecordedEvent, on c: PostgresConnection) throws {
        guard let o = e.data.objectValue, let t = TriggerDefinition(eventData: o) else { return }
        try c.execute(
            """
            INSERT INTO trigger_definitions (tenant, trigger_id, event_name, definition, created_at)
            VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING
            """, [e.tenant, t.id, t.event, JSON.object(t.eventData).text, e.occurredAtMilliseconds])
    }

    private func loadCustomer(tenant: String, subject: String, on c: PostgresConnection) throws -> CustomerProfile? {
        let rows = try c.execute(
            """
            SELECT customer_id, email, attributes::text, locale, created_at, updated_at FROM trigger_customers
            WHERE tenant = $1 AND subject = $2
            """, [tenant, subject])
        guard let r = rows.rows.first, let id = r[0] else { return nil }
        let attributes = (try? JSON.parse(Array((r[2] ?? "{}").utf8)))?.objectValue ?? [:]
        return CustomerProfile(
            id: id, email: r[1], attributes: attributes, locale: r[3], created: r.int64(4) ?? 0, updated: r.int64(5) ?? 0)
    }

    private func customerUpserted(_ e: RecordedEvent, on c: PostgresConnection) throws {
        guard let subject = e.data["subject"]?.stringValue, let personal = try open(e, on: c),
            let id = personal["id"]?.stringValue
        else { return }
        let at = e.occurredAtMilliseconds / 1000
        let change = CustomerChange.updated(
            email: personal["email"]?.stringValue, attributes: personal["attributes"]?.objectValue ?? [:],
            locale: personal["locale"]?.stringValue, at: at)
        guard let p = CustomerProfile.applying(change, to: try loadCustomer(tenant: e.tenant, subject: subject, on: c), id: id)
        else { return }
        try c.execute(
            """
            INSERT INTO trigger_customers (tenant, subject, customer_id, email, attributes, locale, created_at, updated_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
            ON CONFLICT (tenant, subject) DO UPDATE SET customer_id = EXCLUDED.customer_id, email = EXCLUDED.email,
                attributes = EXCLUDED.attributes, locale = EXCLUDED.locale, updated_at = EXCLUDED.updated_at
            """, [e.tenant, subject, p.id, p.email, JSON.object(p.attributes).text, p.locale, p.created, p.updated])
    }

    /// Drops the customer; cancels its pending *trigger* sends. Pending drip steps stay (seed 000:
    /// deleting a customer does not remove scheduled drips; deactivation does).
    private func customerDeleted(_ e: RecordedEvent, on c: PostgresConnection) throws {
        var subjects = (e.data["erased_subjects"]?.arrayValue ?? []).compactMap(\.stringValue)
        if let s = e.data["subject"]?.stringValue { subjects.append(s) }
        for s in subjects {
            let gone = try c.execute(
                "DELETE FROM trigger_customers WHERE tenant = $1 AND subject = $2 RETURNING email", [e.tenant, s])
            for email in gone.rows.compactMap({ $0[0] }) {
                try c.execute(
                    """
                    UPDATE scheduled_sends
                       SET state = 'cancelled', cancel_reason = 'customer deleted', \(TriggerSchema.clearedWhenFinal)
                    WHERE tenant = $1 AND recipient_address = $2 AND kind = 'trigger' AND state = 'pending'
                    """, [e.tenant, email.lowercased()])
            }
        }
    }

    /// A suppressed recipient's pending drip steps become `cancelling` with the reason; the
    /// dispatcher appends their `drip.step_cancelled` (an append cannot happen in this transaction).
    private func suppressionAdded(_ e: RecordedEvent, on c: PostgresConnection) throws -> Bool {
        guard let address = try open(e, on: c)?["address"]?.stringValue?.lowercased() else { return false }
        let rows = try c.execute(
            """
            UPDATE scheduled_sends SET state = 'cancelling', cancel_reason = $3
            WHERE tenant = $1 AND recipient_address = $2 AND kind = 'drip' AND state = 'pending'
            RETURNING message_id
            """, [e.tenant, address, Self.suppressionReason(e.data)])
        return !rows.isEmpty
    }

    /// The cancellation reason of a suppression: "recipient suppressed (bounce, sendgrid)".
    static func suppressionReason(_ data: JSON) -> String {
        let parts = [data["reason"]?.stringValue, data["source"]?.stringValue].compactMap { $0 }.filter { !$0.isEmpty }
        return parts.isEmpty ? "recipient suppressed" : "recipient suppressed (\(parts.joined(separator: ", ")))"
    }

    private func eventTracked(_ e: RecordedEvent, on c: PostgresConnection) throws -> Bool {
        guard let name = e.data["name"]?.stringValue, let subject = e.data["subject"]?.stringValue else { return false }
        let rows = try c.execute(
            "SELECT definition::text FROM trigger_definitions WHERE tenant = $1 AND event_name = $2 AND active ORDER BY created_at",
            [e.tenant, name])
        let triggers = rows.rows.compactMap { r in
            (try? JSON.parse(Array((r[0] ?? "").utf8)))?.objectValue.flatMap(TriggerDefinition.init(eventData:))
        }
        guard !triggers.isEmpty, let customer = try loadCustomer(tenant: e.tenant, subject: subject, on: c),
            customer.email != nil, let personal = try open(e, on: c)
        else { return false }
        let data = personal["data"]?.objectValue ?? [:]
        var any = false
        for t in triggers {
            guard
                let send = TriggerDecision.firing(
                    t, tenant: e.tenant, causeEventID: e.id, recordedAtMilliseconds: e.recordedAtMilliseconds,
                    eventData: data, customer: customer)
            else { continue }
            try insert(send, on: c)
            any = true
        }
        return any
    }

    private func stepScheduled(_ e: RecordedEvent, on c: PostgresConnection) throws -> Bool {
        let d = e.data
        guard let messageText = d["message_id"]?.stringValue, let message = MessageIdentity(parsing: messageText),
            let campaign = d["drip_campaign_id"]?.stringValue.flatMap(UUID.init(uuidString:)),
            let activation = d["activation_id"]?.stringValue.flatMap(UUID.init(uuidString:)),
            let index = d["step_index"]?.intValue, let due = d["due_at"]?.numberText.flatMap({ Int64($0) }),
            let personal = try open(e, on: c), let recipient = personal["recipient"]?.objectValue,
            let address = recipient["address"]?.stringValue
        else { return false }
        let clear: JSONObject = [
            "template_id": d["template_id"] ?? "", "template_name": "", "template_version": "", "locale": d["locale"] ?? "",
            "drip_campaign_id": .string(TriggerEvents.lowercased(campaign)),
            "cause_event_id": .string(TriggerEvents.lowercased(e.id)),
            "message": .string("drip campaign step \(index + 1)"),
        ]
        let send = PendingSend(
            tenant: e.tenant, message: message, kind: .drip, dueAt: due, recipientAddress: address.lowercased(), clear: clear,
            personal: PendingSend.personal(
                address: address, name: recipient["name"]?.stringValue,
                emailData: personal["email_data"]?.objectValue ?? [:], msgDetails: nil),
            triggerID: nil, dripCampaignID: campaign, activationID: activation, stepIndex: index, causeEventID: e.id)
        try insert(send, on: c)
        return true
    }

    private func insert(_ s: PendingSend, on c: PostgresConnection) throws {
        try c.execute(
            """
            INSERT INTO scheduled_sends (message_id, tenant, kind, due_at, recipient_address, payload, trigger_id,
                drip_campaign_id, activation_id, step_index, cause_event_id)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (message_id) DO NOTHING
            """,
            [s.message.uuid, s.tenant, s.kind.rawValue, s.dueAt, s.recipientAddress, s.payload.text, s.triggerID,
             s.dripCampaignID, s.activationID, s.stepIndex, s.causeEventID])
    }
}
