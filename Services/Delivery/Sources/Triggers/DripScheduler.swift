import Domain
import EventStore
import Foundation
import JSON
import Postgres
import Privacy
import Service

/// The drip commands that need I/O: sealing and appending an activation's scheduled steps, and
/// cancelling pending steps (deactivation, suppression).
struct DripScheduler: Sendable {
    let app: ServiceApp

    /// Appends one `drip.step_scheduled` per step (stream `drip-<activation>`), sealed under the
    /// recipient's key. Returns the append result and the scheduled steps.
    func activate(
        _ campaign: DripCampaign, _ a: DripActivation, tenant: String, activationID: UUID, eventID: @escaping @Sendable (Int) -> UUID
    ) async throws -> (AppendResult, [DripCampaign.ScheduledStep]) {
        let vault = app.vault
        let now = TriggerEvents.nowMilliseconds()
        let steps = campaign.schedule(tenant: tenant, activationID: activationID, activatedAt: now)
        var recipient: JSONObject = ["address": .string(a.address)]
        if let name = a.name { recipient["name"] = .string(name) }
        let personal: JSON = ["recipient": .object(recipient), "email_data": .object(a.emailData)]
        let build: @Sendable () async throws -> (StreamAppend, String) = { [app] in
            try await app.store.pool.withConnection { c in
                let subject = try vault.subjectHash(tenant: tenant, subject: a.address, on: c)
                let key = try vault.keyForWriting(tenant: tenant, subjectHash: subject, on: c)
                let events = try steps.map { s in
                    let data: JSONObject = [
                        "drip_campaign_id": .string(TriggerEvents.lowercased(campaign.id)),
                        "activation_id": .string(TriggerEvents.lowercased(activationID)), "step_index": .int(s.index),
                        "template_id": .string(s.templateID), "locale": .string(a.locale ?? ""),
                        "message_id": .string(s.message.messageID), "log_id": .string(s.message.logID), "status": "scheduled",
                        "due_at": .int64(s.dueAt), "recipient_subject": .string(subject), "occurred_at": .int64(now),
                        "sealed": .string(try vault.seal(personal, with: key, tenant: tenant)),
                    ]
                    return NewEvent(
                        id: eventID(s.index), type: TriggerEvents.dripStepScheduled, data: .object(data),
                        metadata: [
                            "key_id": .string(TriggerEvents.lowercased(key.id)), "actor": .string(tenant),
                            "drip_campaign_id": .string(TriggerEvents.lowercased(campaign.id)),
                        ], keyID: key.id)
                }
                return (
                    StreamAppend(tenant: tenant, stream: TriggerEvents.activationStream(activationID), events: events), subject
                )
            }
        }
        let (unit, subject) = try await build()
        do {
            return (try await app.store.append(unit), steps)
        } catch AppendError.keyDestroyed {
            vault.forgetWritingKey(tenant: tenant, subjectHash: subject)
            return (try await app.store.append(try await build().0), steps)
        }
    }

    /// Cancels the pending drip steps of `address` (in `campaign`, or in every campaign): marks
    /// them cancelled under the advisory lock the dispatcher takes per send (so a step is sent or
    /// cancelled, never both), then appends one `drip.step_cancelled` per step with `reason`. Returns how
    /// many steps were cancelled and the consistency checkpoint.
    func cancel(tenant: String, address: String, campaign: UUID?, reason: String) async throws -> (Int, Checkpoint?) {
        let address = address.lowercased()
        let vault = app.vault
        let (rows, subject) = try await app.store.pool.withConnection { c -> ([PostgresRow], String) in
            let subject = try vault.subjectHash(tenant: tenant, subject: address, on: c)
            let rows = try c.transaction { () -> [PostgresRow] in
                let candidates = try c.execute(
                    """
                    SELECT message_id FROM scheduled_sends
                    WHERE tenant = $1 AND recipient_address = $2 AND kind = 'drip' AND state = 'pending'
                        AND ($3::uuid IS NULL OR drip_campaign_id = $3::uuid)
                    ORDER BY message_id
                    """, [tenant, address, campaign]
                ).rows.compactMap { $0[0].flatMap(UUID.init(uuidString:)) }
                var cancelled: [PostgresRow] = []
                for id in candidates {
                    // The dispatcher's lock: wait for a send in progress, then re-check its state.
                    try c.execute("SELECT pg_advisory_xact_lock($1)", [TriggerEvents.sendLockKey(id)])
                    cancelled += try c.execute(
                        """
                        UPDATE scheduled_sends SET state = 'cancelled', cancel_reason = $2
                        WHERE message_id = $1 AND state = 'pending'
                        RETURNING message_id, drip_campaign_id, activation_id, step_index
                        """, [id, reason]
                    ).rows
                }
                return cancelled
            }
            return (rows, subject)
        }
        guard !rows.isEmpty else { return (0, nil) }
        let now = TriggerEvents.nowMilliseconds()
        var byActivation: [UUID: [NewEvent]] = [:]
        var order: [UUID] = []
        var ids: [UUID] = []
        for r in rows {
            guard let id = r[0].flatMap(UUID.init(uuidString:)), let activation = r[2].flatMap(UUID.init(uuidString:)) else { continue }
            ids.append(id)
            let event = TriggerEvents.stepCancelled(
                message: MessageIdentity(id), campaignID: r[1] ?? "", activationID: activation, stepIndex: r.int(3) ?? 0,
                reason: reason, recipientSubject: subject, tenant: tenant, occurredAt: now)
            if byActivation[activation] == nil { order.append(activation) }
            byActivation[activation, default: []].append(event)
        }
        let units = order.map {
            StreamAppend(tenant: tenant, stream: TriggerEvents.activationStream($0), events: byActivation[$0] ?? [])
        }
        do {
            let result = try await app.store.append(units)
            return (ids.count, result.checkpoint)
        } catch {
            // Not recorded: give the steps back to the dispatcher.
            for id in ids {
                _ = try? await app.store.pool.execute(
                    "UPDATE scheduled_sends SET state = 'pending', cancel_reason = NULL WHERE message_id = $1 AND state = 'cancelled'",
                    [id])
            }
            throw error
        }
    }
}
