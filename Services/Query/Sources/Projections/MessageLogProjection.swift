import Domain
import EventStore
import Foundation
import JSON
import Postgres
import Privacy

/// Builds `query_log_events` (one row per message event) and `query_logs` (one summary row per
/// message: request facts, the recipient in plaintext, and the status fields `LogTimeline`
/// derives from all of the message's event rows).
///
/// Events may arrive in any order: a provider event for a message whose request has not been
/// applied yet is kept (its summary row waits with `has_request = false`, hidden from reads)
/// and the summary is recomputed from every event row whenever one arrives, so the status and
/// timeline follow occurrence time, not arrival. Work is batched per runner batch (a handful of
/// statements per batch, not per event).
/// One part of `QueryProjections`, applied in its transaction.
final class MessageLogProjection: Sendable {
    let sealed: SealedPart

    let scheduledDrips: ScheduledDrips

    init(vault: PersonalDataVault) {
        self.sealed = SealedPart(vault: vault)
        self.scheduledDrips = ScheduledDrips(sealed: sealed)
    }

    func apply(_ events: [RecordedEvent], on connection: PostgresConnection) throws {
        var segment: [RecordedEvent] = []
        for event in events {
            if event.type == EventCatalog.customerDeleted {
                try applyMessages(segment, on: connection)
                segment.removeAll()
                try erase(event, on: connection)
            } else if event.type.hasPrefix("message.") {
                segment.append(event)
            } else if ScheduledDrips.handles(event.type) {
                try applyMessages(segment, on: connection)
                segment.removeAll()
                try scheduledDrips.apply(event, on: connection)
            }
        }
        try applyMessages(segment, on: connection)
    }

    func reset(on connection: PostgresConnection) throws {
        sealed.vault.forgetCachedKeys()
        try connection.execute("TRUNCATE query_logs, query_log_events")
        try scheduledDrips.reset(on: connection)
    }

    // MARK: Erasure

    /// Blanks the recipient (address, name and the sealed MsgDetails) of every log sent to an
    /// erased subject; the non-personal facts stay. MsgDetails go as a whole: they were sealed
    /// together, so a rebuild after the erasure cannot see them either, and the rows stay the
    /// same whether the request was applied before or after the key was destroyed.
    private func erase(_ event: RecordedEvent, on connection: PostgresConnection) throws {
        var subjects = (event.data["erased_subjects"]?.arrayValue ?? []).compactMap(\.stringValue)
        if let s = event.data["subject"]?.stringValue { subjects.append(s) }
        try connection.execute(
            """
            UPDATE query_logs SET recipient_address = NULL, recipient_lower = NULL, recipient_name = NULL,
                msg_details = NULL
            WHERE tenant = $1 AND recipient_subject = ANY($2::text[])
            """, [event.tenant, PostgresArray(subjects)])
        try scheduledDrips.erase(tenant: event.tenant, subjects: subjects, on: connection)
        sealed.vault.forgetCachedKeys()
    }

    // MARK: Message events

    private struct MessageKey: Hashable {
        let tenant: String
        let messageID: UUID
    }

    private func applyMessages(_ events: [RecordedEvent], on connection: PostgresConnection) throws {
        guard !events.isEmpty else { return }
        try scheduledDrips.messagesStarted(
            tenants: events.map(\.tenant), messageIDs: events.compactMap { $0.data["message_id"]?.stringValue }, on: connection)
        var rows: [LogEventRow] = []
        var requests: [MessageKey: LogRequest] = [:]
        var touched: [MessageKey] = []
        var seen = Set<MessageKey>()
        for event in events {
            guard let row = LogEventRow(event) else { continue }
            rows.append(row)
            let key = MessageKey(tenant: row.tenant, messageID: row.messageID)
            if seen.insert(key).inserted { touched.append(key) }
            if (event.type == EventCatalog.messageRequested || event.type == EventCatalog.messageTriggered),
                requests[key] == nil
            {
                requests[key] = LogRequest(event, personal: try sealed.open(event, on: connection))
            }
        }
        guard !rows.isEmpty else { return }
        try insertEventRows(rows, on: connection)
        try upsertLogs(touched, requests: requests, on: connection)
    }

    private func insertEventRows(_ rows: [LogEventRow], on connection: PostgresConnection) throws {
        try connection.execute(
            """
            INSERT INTO query_log_events (tenant, message_id, position, status, occurred_at, provider, message,
                bounce_type, bounce_sub_type, bounce_details, complaint_type, url)
            SELECT * FROM unnest($1::text[], $2::uuid[], $3::bigint[], $4::text[], $5::bigint[], $6::text[], $7::text[],
                $8::text[], $9::text[], $10::text[], $11::text[], $12::text[])
            ON CONFLICT DO NOTHING
            """,
            [
                PostgresArray(rows.map(\.tenant)), PostgresArray(rows.map(\.messageID)),
                PostgresArray(rows.map(\.position)), PostgresArray(rows.map(\.event.status.rawValue)),
                PostgresArray(rows.map(\.event.occurredAtMilliseconds)),
                PostgresArray(rows.map(\.event.provider.rawValue)), PostgresArray(rows.map(\.event.message)),
                PostgresArray(rows.map(\.event.details.bounceType)), PostgresArray(rows.map(\.event.details.bounceSubType)),
                PostgresArray(rows.map(\.event.details.bounceDetails)),
                PostgresArray(rows.map(\.event.details.complaintType)), PostgresArray(rows.map(\.event.details.url)),
            ])
    }

    /// Every event row of the given messages, grouped by message, in position order.
    private static let selectEventRows = """
        SELECT e.tenant, e.message_id, \(LogEventRow.columns.split(separator: ",").map { "e." + $0.trimmingCharacters(in: .whitespaces) }.joined(separator: ", "))
        FROM query_log_events e
        JOIN unnest($1::text[], $2::uuid[]) AS u(tenant, message_id)
          ON e.tenant = u.tenant AND e.message_id = u.message_id
        ORDER BY e.tenant, e.message_id, e.position
        """

    /// The request columns: a row that already has a request keeps its own.
    private static let keepFirstRequest = [
        "seq", "created", "recipient_subject", "recipient_address", "recipient_lower", "recipient_name", "template_id",
        "template_name", "template_version", "locale", "brand_id", "owner_id", "email_type", "msg_details",
    ].map { "\($0) = CASE WHEN query_logs.has_request THEN query_logs.\($0) ELSE EXCLUDED.\($0) END" }
        .joined(separator: ", ")

    /// One summary row per message: request facts (see `keepFirstRequest`) and status fields.
    private static let upsertSummaries = """
            INSERT INTO query_logs (tenant, message_id, has_request, seq, created, recipient_subject, recipient_address,
                recipient_lower, recipient_name, template_id, template_name, template_version, locale, brand_id, owner_id,
                email_type, msg_details, status, message, state, sent_at, last_updated, delivered_date, bounce_type,
                bounce_sub_type, bounce_details, complaint_type)
            SELECT u.tenant, u.message_id, u.seq IS NOT NULL, u.seq, u.created, u.rs, u.ra, lower(u.ra), u.rn, u.ti, u.tn,
                u.tv, u.lo, u.b, u.o, u.et, u.md, u.status, u.message, u.state, u.sent_at, u.last_updated,
                u.delivered_date, u.bt, u.bst, u.bd, u.ct
            FROM unnest($1::text[], $2::uuid[], $3::bigint[], $4::bigint[], $5::text[], $6::text[], $7::text[],
                $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[],
                $16::text[], $17::text[], $18::text[], $19::bigint[], $20::bigint[], $21::bigint[], $22::text[],
                $23::text[], $24::text[], $25::text[])
                AS u(tenant, message_id, seq, created, rs, ra, rn, ti, tn, tv, lo, b, o, et, md, status, message, state,
                    sent_at, last_updated, delivered_date, bt, bst, bd, ct)
            ON CONFLICT (tenant, message_id) DO UPDATE SET
                \(keepFirstRequest),
                has_request = query_logs.has_request OR EXCLUDED.has_request,
                status = EXCLUDED.status, message = EXCLUDED.message, state = EXCLUDED.state, sent_at = EXCLUDED.sent_at,
                last_updated = EXCLUDED.last_updated, delivered_date = EXCLUDED.delivered_date,
                bounce_type = EXCLUDED.bounce_type, bounce_sub_type = EXCLUDED.bounce_sub_type,
                bounce_details = EXCLUDED.bounce_details, complaint_type = EXCLUDED.complaint_type
            """

    /// Writes each touched message's summary row with one upsert: the status fields recomputed
    /// from all of its event rows, and the request facts from this batch unless the row already
    /// has a request (the first request applied is kept).
    private func upsertLogs(
        _ messages: [MessageKey], requests: [MessageKey: LogRequest], on connection: PostgresConnection
    ) throws {
        let result = try connection.execute(
            Self.selectEventRows, [PostgresArray(messages.map(\.tenant)), PostgresArray(messages.map(\.messageID))])
        var grouped: [MessageKey: [MessageLogEvent]] = [:]
        for row in result.rows {
            guard let tenant = row[0], let id = row[1].flatMap(UUID.init(text:)),
                let event = LogEventRow.event(from: PostgresRowReader(row: row, offset: 2))
            else { continue }
            grouped[MessageKey(tenant: tenant, messageID: id), default: []].append(event)
        }
        var keys: [MessageKey] = []
        var summaries: [LogSummary] = []
        var r: [LogRequest?] = []
        for key in messages {
            guard let events = grouped[key] else { continue }
            keys.append(key)
            summaries.append(LogSummary(LogTimeline(events: events)))
            r.append(requests[key])
        }
        guard !keys.isEmpty else { return }
        try connection.execute(
            Self.upsertSummaries,
            [
                PostgresArray(keys.map(\.tenant)), PostgresArray(keys.map(\.messageID)),
                PostgresArray(r.map { $0?.position }), PostgresArray(r.map { $0?.createdSeconds }),
                PostgresArray(r.map { $0?.recipientSubject }), PostgresArray(r.map { $0?.recipientAddress }),
                PostgresArray(r.map { $0?.recipientName }), PostgresArray(r.map { $0?.templateID }),
                PostgresArray(r.map { $0?.templateName }), PostgresArray(r.map { $0?.templateVersion }),
                PostgresArray(r.map { $0?.locale }), PostgresArray(r.map { $0?.brandID }), PostgresArray(r.map { $0?.ownerID }),
                PostgresArray(r.map { $0?.emailType }), PostgresArray(r.map { $0?.msgDetails?.text }),
                PostgresArray(summaries.map(\.status)), PostgresArray(summaries.map(\.message)),
                PostgresArray(summaries.map(\.state)), PostgresArray(summaries.map(\.sentAt)),
                PostgresArray(summaries.map(\.lastUpdated)), PostgresArray(summaries.map(\.deliveredDate)),
                PostgresArray(summaries.map(\.bounceType)), PostgresArray(summaries.map(\.bounceSubType)),
                PostgresArray(summaries.map(\.bounceDetails)), PostgresArray(summaries.map(\.complaintType)),
            ])
    }
}

/// The facts of a `message.requested` / `message.triggered` event a log summary keeps.
struct LogRequest {
    var position: Int64
    var createdSeconds: Int64
    var recipientSubject: String?
    var recipientAddress: String?
    var recipientName: String?
    var templateID: String?
    var templateName: String?
    var templateVersion: String?
    var locale: String?
    var brandID: String?
    var ownerID: String?
    var emailType: String?
    var msgDetails: JSON?

    /// `personal` is the opened sealed part, nil when its key was destroyed.
    init(_ event: RecordedEvent, personal: JSONObject?) {
        let d = event.data
        let occurred = event.occurredAtMilliseconds
        position = event.position
        createdSeconds = MessageLogEvent(status: .requested, occurredAtMilliseconds: occurred).occurredAtSeconds
        recipientSubject = d["recipient_subject"]?.stringValue
        let recipient = personal?["recipient"]
        recipientAddress = recipient?["address"]?.stringValue
        recipientName = recipient?["name"]?.stringValue
        templateID = d["template_id"]?.textValue
        templateName = d["template_name"]?.textValue
        templateVersion = d["template_version"]?.textValue
        locale = d["locale"]?.stringValue
        brandID = d["brand_id"]?.textValue
        ownerID = d["owner_id"]?.textValue
        emailType = d["email_type"]?.stringValue
        msgDetails = personal?["msg_details"].flatMap { $0.isNull ? nil : EmailHistoryRoutes.orderedMsgDetails($0) }
    }
}

/// The status fields of a log summary, from its timeline.
struct LogSummary {
    var status: String?
    var message: String?
    var state: String
    var sentAt: Int64?
    var lastUpdated: Int64?
    var deliveredDate: Int64?
    var bounceType: String?
    var bounceSubType: String?
    var bounceDetails: String?
    var complaintType: String?

    init(_ t: LogTimeline) {
        status = t.currentStatus?.rawValue
        message = t.currentMessage
        state = (t.state ?? .sent).rawValue
        sentAt = t.sentAt
        lastUpdated = t.lastUpdated
        deliveredDate = t.deliveredDate
        bounceType = t.bounceType
        bounceSubType = t.bounceSubType
        bounceDetails = t.bounceDetails
        complaintType = t.complaintType
    }
}
