import Domain
import EventStore
import Foundation
import JSON
import Mail
import Postgres
import Service

/// A due row of the outbox.
struct DueMessage: Sendable, Hashable {
    var tenant: String
    var messageHex: String
    var version: Int64
    var attempts: Int

    /// Tenant and message: what identifies a send in flight.
    var key: String { tenant + "\u{0}" + messageHex }
}

/// Sends one due message: appends `queued`, composes and hands the email to the transport,
/// then appends `sent`, `failed_to_send` or `dropped`. After each append the outbox row is
/// moved the same way the projection would move it, so the worker never acts on a stale row.
struct MessageSender: Sendable {
    let app: ServiceApp
    let readModel: DeliveryReadModel
    let settings: DeliverySettings
    let transport: any MailTransport
    let composer: MessageComposer
    /// Template versions never change once saved: keep the ones already loaded.
    let versions = TemplateVersionCache()

    func send(_ due: DueMessage) async {
        guard let message = MessageIdentity(parsing: due.messageHex) else { return }
        let stream = EventCatalog.messageStream(messageHex: due.messageHex)
        // 1. queued, only if the stream is where the row says (else the row is stale: retry soon).
        var version: Int64
        do {
            let queued = NewEvent(
                type: EventCatalog.messageQueued, data: MessageEvents.base(message, .queued), metadata: metadata)
            let result = try await app.store.append(
                StreamAppend(tenant: due.tenant, stream: stream, expected: .exact(due.version), events: [queued]))
            version = result.streams.first?.lastVersion ?? due.version + 1
            try await move(due, version: version, queued)
        } catch {
            _ = try? await app.store.pool.execute(
                """
                UPDATE delivery_outbox SET due_at = now() + interval '1 second'
                WHERE tenant = $1 AND message_hex = $2 AND state = 'pending'
                """, [due.tenant, due.messageHex])
            return
        }
        // 2. compose and send.
        let attempt = due.attempts + 1
        let outcome: SendOutcome
        switch await compose(due, message, stream: stream) {
        case .refused(let reason): outcome = .permanent(reason: reason)
        case .unavailable(let reason): outcome = .temporary(reason: reason)
        case .mail(let mail): outcome = await transport.send(mail)
        }
        let decision = settings.retry.decide(
            outcome, attempt: attempt, nowMilliseconds: nowMilliseconds(), unit: Double.random(in: 0..<1))
        // 3. record the outcome (retrying a database hiccup; if it never lands, the lease expires
        // and the message is sent again: at least once, never lost).
        let event = NewEvent(type: decision.eventType, data: outcomeData(decision, message), metadata: metadata)
        for pause in [0, 200, 1000, 3000] {
            if pause > 0 { try? await Task.sleep(for: .milliseconds(pause)) }
            do {
                let result = try await app.store.append(StreamAppend(tenant: due.tenant, stream: stream, events: [event]))
                try await move(due, version: result.streams.first?.lastVersion ?? version + 1, event)
                return
            } catch {
                continue
            }
        }
        app.logger.log(.error, "could not record a send outcome; the message will be retried after its lease", [:])
    }

    private var metadata: JSON { ["actor": "delivery-worker"] }

    private func move(_ due: DueMessage, version: Int64, _ event: NewEvent) async throws {
        let tenant = due.tenant
        let hex = due.messageHex
        try await app.store.pool.withConnection { c in
            try OutboxTransitions.apply(
                tenant: tenant, messageHex: hex, version: version, type: event.type, data: event.data, on: c)
        }
    }

    private func outcomeData(_ decision: SendDecision, _ message: MessageIdentity) -> JSON {
        let provider = settings.provider
        switch decision {
        case .sent(let reply, let providerMessageID):
            var o = MessageEvents.base(message, .sent, provider: provider).objectValue ?? [:]
            if let providerMessageID { o["provider_message_id"] = .string(providerMessageID) }
            o["smtp_reply"] = .string(reply)
            o["message_id_header"] = .string(composer.messageIDHeader(message))
            return .object(o)
        case .retry(let reason, let attempt, let next):
            var o = MessageEvents.base(message, .failedToSend, provider: provider).objectValue ?? [:]
            o["reason"] = .string(reason)
            o["attempt"] = .int(attempt)
            o["next_retry_at"] = .int64(next)
            return .object(o)
        case .drop(let reason):
            var o = MessageEvents.base(message, .dropped, text: reason, provider: provider).objectValue ?? [:]
            o["reason"] = .string(reason)
            return .object(o)
        }
    }

    /// The email to send, or why there is none.
    enum Composed {
        case mail(MailMessage)
        /// It can never be sent (erased recipient, suppressed, template gone).
        case refused(String)
        /// Not now (the database is unavailable).
        case unavailable(String)
    }

    /// What `compose` reads from the database for one message.
    private struct Loaded: Sendable {
        var requested: RecordedEvent
        /// The opened `sealed` part; nil when the recipient was erased.
        var personal: JSON?
        var customer: CustomerRecord?
        var suppression: SuppressionRecord?
        var brand: JSONObject?
    }

    /// Loads the request, template, brand and customer, and builds the email.
    private func compose(_ due: DueMessage, _ message: MessageIdentity, stream: String) async -> Composed {
        do {
            // One pooled job loads everything the email needs.
            let tenant = due.tenant
            let vault = app.vault
            let readModel = self.readModel
            let loaded = try await app.store.pool.withConnection { c -> Loaded? in
                let events = try EventReader.readStream(tenant: tenant, stream: stream, on: c)
                guard
                    let requested = events.last(where: {
                        $0.type == EventCatalog.messageRequested || $0.type == EventCatalog.messageTriggered
                    }), let sealed = requested.string("sealed"), let keyID = requested.keyID
                else { return nil }
                let subject = requested.string("recipient_subject") ?? ""
                return Loaded(
                    requested: requested, personal: try vault.open(sealed, keyID: keyID, tenant: tenant, on: c),
                    customer: try readModel.customer(tenant: tenant, emailSubject: subject, on: c),
                    suppression: try readModel.suppressions(tenant: tenant, subjects: [subject], on: c)[subject],
                    brand: try requested.string("brand_id").flatMap { try readModel.brand(tenant: tenant, id: $0, on: c) })
            }
            guard let loaded else { return .refused("the message request is missing") }
            let requested = loaded.requested
            guard let personal = loaded.personal else { return .refused("the recipient's data was erased") }
            if let suppression = loaded.suppression { return .refused("the recipient is suppressed (\(suppression.reason))") }
            let versionID = requested.string("template_version_id")
            var version = versionID.flatMap { versions.get(tenant: tenant, id: $0) }
            if version == nil {
                // A brand trigger names the brand and the email type; the brand says which template.
                var templateID = requested.string("template_id") ?? ""
                if templateID.isEmpty, let type = requested.string("email_type"),
                    let mapped = loaded.brand?["templates"]?[type]?.stringValue
                {
                    templateID = mapped
                }
                guard let template = try await readModel.template(tenant: tenant, id: templateID)
                else { return .refused("the template no longer exists") }
                for v in template.versions { versions.put(tenant: tenant, v) }
                version =
                    template.versions.first { $0.id == versionID }
                    ?? template.versions.last {
                        $0.name == requested.string("template_version") && $0.locale == requested.string("locale")
                    }
                    ?? TemplateVersionChoice.choose(
                        template, requestedLocale: requested.string("locale"), customerLocale: loaded.customer?.locale,
                        versionName: nil)
            }
            guard let version else { return .refused("the template has no version to send") }
            return .mail(
                composer.compose(
                    message: message, personal: personal, version: version, brand: loaded.brand,
                    customerAttributes: loaded.customer?.attributes ?? [:]))
        } catch {
            // The database is unavailable: a temporary failure like any other.
            return .unavailable("database unavailable while preparing the message")
        }
    }
}
