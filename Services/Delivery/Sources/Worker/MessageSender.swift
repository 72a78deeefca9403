import Domain
import EventStore
import Foundation
import JSON
import Mail
import Postgres
import Service
import ThreadSupport

/// A due row of the outbox.
struct DueMessage: Sendable, Hashable {
    var tenant: String
    var messageHex: String
    var version: Int64
    var attempts: Int

    /// Tenant and message: what identifies a send in flight.
    var key: String { Self.key(tenant: tenant, messageHex: messageHex) }

    static func key(tenant: String, messageHex: String) -> String { tenant + "\u{0}" + messageHex }
}

/// Sends a batch of due messages: appends their `queued` events (concurrent appends that share
/// one group commit), loads what they need in one pooled job, hands the emails to the transport
/// (each send holding one of the worker's `SendSlots`), then appends every `sent`,
/// `failed_to_send` or `dropped` in one atomic append. The batch ends only once the outbox rows
/// have moved past those events, so the worker never acts on a stale row: the outbox projection
/// moves them (when it runs in this process, the worker waits for it to apply the outcomes),
/// else the worker moves them itself, the way the projection would.
struct MessageSender: Sendable {
    let app: ServiceApp
    let readModel: DeliveryReadModel
    let settings: DeliverySettings
    let transport: any MailTransport
    let composer: MessageComposer
    /// Requests accepted by this process, so most are not read back.
    let recent: RecentRequests
    /// Outcomes recorded or waiting, claims left to the next leader.
    let metrics: OutboxMetrics
    /// The outbox projection's progress in this process. While it leads here, the rows are left
    /// to it: moving them from the worker as well doubled the UPDATEs on `delivery_outbox` (each
    /// event applied twice, the second time a no-op by the version guard), the costliest
    /// statements of a send.
    var outbox: ProjectionProgress?
    /// How long a batch waits for that projection to apply its outcomes before moving the rows
    /// itself.
    var outboxWait: Duration = .seconds(2)
    /// Template versions never change once saved: keep the ones already loaded.
    let versions = TemplateVersionCache()

    /// Sends a batch of due messages (distinct keys) claimed in `term`, each send holding one of
    /// `slots` while on the wire. Outcomes are recorded once the database takes them, for as
    /// long as `keepsRecording` says the worker runs.
    func send(
        _ batch: [DueMessage], slots: SendSlots, term: LeadershipTerm, keepsRecording: @escaping @Sendable () -> Bool
    ) async {
        // 1. queued, only where the stream is where the row says (else the row is stale: retry soon).
        let claimed = await queue(batch, term: term)
        guard !claimed.isEmpty else { return }
        // 2. load everything the emails need, then compose and send (while the term lasts).
        let composed = await compose(claimed.map(\.due))
        let sent = await transmit(composed, slots: slots, term: term)
        let outcomes = zip(claimed, sent).compactMap { item, sent in sent.map { outcome(of: item, $0) } }
        // 3. the outcomes in one append; then the rows follow: the projection applies them, or
        // the worker does (if that fails too, the projection moves them when it can).
        guard let (moves, checkpoint) = await record(outcomes, keepsRecording: keepsRecording), !moves.isEmpty
        else { return }
        if projectionMovesRows, let outbox, await outbox.wait(for: checkpoint, timeout: outboxWait) { return }
        _ = try? await moveAll(moves)
    }

    /// Whether the outbox projection runs in this process (it then moves the rows).
    private var projectionMovesRows: Bool { outbox?.isLeader == true }

    /// What a send came to, to be recorded.
    private struct Outcome: Sendable {
        var due: DueMessage
        var event: NewEvent
    }

    /// A message whose `queued` event is recorded.
    private struct Claimed: Sendable {
        var due: DueMessage
        var message: MessageIdentity
        /// The stream version after `queued`.
        var version: Int64
    }

    /// Appends `queued` to each message whose stream is still at the row's version, or whose
    /// stream ends in a `queued` with no outcome after it (see `endsInAbandonedClaim`) once
    /// `term` takes over such claims (until then their rows fall due when it does). The appends
    /// are independent (one refused never holds back another) and queued together.
    private func queue(_ batch: [DueMessage], term: LeadershipTerm) async -> [Claimed] {
        let metadata = self.metadata
        let store = app.store
        // Each message's identity, parsed once; a row that names none is never claimed.
        let messages = batch.map { MessageIdentity(parsing: $0.messageHex) }
        let claimable = batch.indices.filter { messages[$0] != nil }
        func queued(_ index: Int, at version: Int64) -> [StreamAppend] {
            let due = batch[index]
            let event = NewEvent(
                type: EventCatalog.messageQueued, data: MessageEvents.base(messages[index]!, .queued), metadata: metadata)
            return [StreamAppend(
                tenant: due.tenant, stream: EventCatalog.messageStream(messageHex: due.messageHex),
                expected: .exact(version), events: [event])]
        }
        let appended = await store.appendEach(claimable.map { queued($0, at: batch[$0].version) })
        var results: [Int: Int64] = [:]
        var movedOn: [(index: Int, actual: Int64)] = []
        for (index, result) in zip(claimable, appended) {
            switch result {
            case .success(let r):
                results[index] = r.streams.first?.lastVersion ?? batch[index].version + 1
            case .failure(AppendError.wrongExpectedVersion(_, _, let actual)) where actual > batch[index].version:
                movedOn.append((index, actual))
            case .failure:
                break
            }
        }
        // Streams that moved on since the row was read: claim those that end in an abandoned
        // claim, once this term takes such claims over.
        var deferred: [DueMessage] = []
        for (index, actual) in movedOn {
            let due = batch[index]
            let stream = EventCatalog.messageStream(messageHex: due.messageHex)
            guard await Self.endsInAbandonedClaim(store, tenant: due.tenant, stream: stream, at: actual) else { continue }
            guard term.takesOverClaims() else {
                deferred.append(due)
                continue
            }
            guard let r = try? await store.append(queued(index, at: actual)) else { continue }
            results[index] = r.streams.first?.lastVersion ?? actual + 1
        }
        var claimed: [Claimed] = []
        var stale: [DueMessage] = []
        let deferredKeys = Set(deferred.map(\.key))
        for (index, due) in batch.enumerated() {
            if let version = results[index], let message = messages[index] {
                claimed.append(Claimed(due: due, message: message, version: version))
            } else if !deferredKeys.contains(due.key) {
                stale.append(due)
            }
        }
        await postpone(stale, by: .seconds(1))
        await postpone(deferred, by: term.takesOverClaimsFrom - .now)
        // The rows stay as they are (`OutboxTransitions`): the worker's in-flight set keeps them
        // from being picked again until their outcome has moved them.
        return claimed
    }

    /// Makes the rows of `messages` due again `delay` from now (a stale row soon, a claim left
    /// by an earlier leader when this term takes it over).
    private func postpone(_ messages: [DueMessage], by delay: Duration) async {
        guard !messages.isEmpty else { return }
        let milliseconds = max(0, delay.components.seconds * 1000 + delay.components.attoseconds / 1_000_000_000_000_000)
        _ = try? await app.store.pool.execute(
            """
            UPDATE delivery_outbox o SET due_at = now() + $3::bigint * interval '1 millisecond'
            FROM unnest($1::text[], $2::text[]) AS u(tenant, hex)
            WHERE o.tenant = u.tenant AND o.message_hex = u.hex AND o.state = 'pending'
            """, [PostgresArray(messages.map(\.tenant)), PostgresArray(messages.map(\.messageHex)), milliseconds])
    }

    /// Whether `stream` (at `version`) ends in a `queued` with no outcome after it while its row
    /// was still due: a claim by a leader that died before sending or recording, or whose outcome
    /// could not be recorded (this worker's own claims in flight are in its in-flight set and
    /// never picked). A claim leaves the row as it was, so the row's version is the one before
    /// `queued`; the new leader claims it from there (at least once: the old leader may have
    /// sent it).
    static func endsInAbandonedClaim(_ store: EventStore, tenant: String, stream: String, at version: Int64) async -> Bool {
        guard let events = try? await store.readStream(tenant: tenant, stream: stream), let last = events.last else {
            return false
        }
        return last.version == version && last.type == EventCatalog.messageQueued
    }

    /// Hands the batch's emails to the transport, each holding one of `slots` until its outcome
    /// is in; returns every outcome in batch order, nil for an email not handed over because
    /// `term` ended first (its claim stays, for the next leader). The sends complete on the
    /// transport's threads: this task waits only for a free slot and, once, for the whole batch
    /// (a task per send cost several wake-ups of Swift's pool for every message).
    private func transmit(_ composed: [Composed], slots: SendSlots, term: LeadershipTerm) async -> [SendOutcome?] {
        let outcomes = IndexedResults<SendOutcome?>(
            known: composed.map { item -> SendOutcome?? in
                switch item {
                case .refused(let reason): .some(.permanent(reason: reason))
                case .unavailable(let reason): .some(.temporary(reason: reason))
                case .mail: .none  // to come
                }
            })
        for (index, item) in composed.enumerated() {
            guard case .mail(let mail) = item else { continue }
            // Not handed over once the term has ended (checked again after waiting for a slot).
            guard term.isCurrent else {
                metrics.released.increment()
                outcomes.set(index, SendOutcome?.none)
                continue
            }
            if !slots.tryAcquire() { await slots.acquire() }
            guard term.isCurrent else {
                slots.release()
                metrics.released.increment()
                outcomes.set(index, SendOutcome?.none)
                continue
            }
            transport.submit(mail) { outcome in
                slots.release()
                outcomes.set(index, outcome)
            }
        }
        return await outcomes.all()
    }

    /// The event recording what a send came to.
    private func outcome(of item: Claimed, _ outcome: SendOutcome) -> Outcome {
        let attempt = item.due.attempts + 1
        // The jitter matters only for a retry (a random draw is a system call on Linux).
        let jitter: Double
        if case .temporary = outcome { jitter = Double.random(in: 0..<1) } else { jitter = 0 }
        let decision = settings.retry.decide(outcome, attempt: attempt, nowMilliseconds: nowMilliseconds(), unit: jitter)
        return Outcome(
            due: item.due,
            event: NewEvent(type: decision.eventType, data: outcomeData(decision, item.message), metadata: metadata))
    }

    /// Appends the outcomes of a batch in one atomic append, retrying (with the same event ids,
    /// so a retry never records twice) until the database takes it: a message the provider
    /// accepted while the database was down is recorded when it is back, not sent again. The
    /// messages stay in the worker's in-flight set meanwhile. Returns the rows' moves and where
    /// the append committed, or nil when the worker stopped first (`keepsRecording`): the rows
    /// are still due and the messages are claimed again (at least once, never lost).
    private func record(_ outcomes: [Outcome], keepsRecording: @Sendable () -> Bool) async -> ([OutboxMove], Checkpoint)? {
        guard !outcomes.isEmpty else { return ([], .start) }
        let units = outcomes.map {
            StreamAppend(
                tenant: $0.due.tenant, stream: EventCatalog.messageStream(messageHex: $0.due.messageHex), events: [$0.event])
        }
        var attempt = 0
        var waiting = false  // counted in `metrics.unrecorded`
        defer { if waiting { metrics.unrecorded.add(-Double(outcomes.count)) } }
        while attempt < 4 || keepsRecording() {
            // Pauses of 0, 0.2 and then 1 s: the outcomes land about a second after the database
            // is back, well within a new leader's `takeoverGrace`.
            if attempt > 0 { try? await Task.sleep(for: .milliseconds(attempt == 1 ? 200 : 1000)) }
            if attempt >= 4 && attempt % 60 == 4 {  // after ~4 s, then about once a minute
                app.logger.log(
                    .error, "send outcomes not recorded yet; retrying until the database takes them",
                    ["messages": .int(outcomes.count)])
            }
            attempt += 1
            do {
                let result = try await app.store.append(units)
                var byType: [String: Int] = [:]
                for o in outcomes { byType[o.event.type, default: 0] += 1 }
                for (type, count) in byType { metrics.outcomes.increment(by: Double(count), labels: [type]) }
                let moves = zip(outcomes, result.streams).map { outcome, stream in
                    OutboxMove(
                        tenant: outcome.due.tenant, messageHex: outcome.due.messageHex, version: stream.lastVersion,
                        type: outcome.event.type, data: outcome.event.data)
                }
                return (moves, result.checkpoint)
            } catch {
                if !waiting {
                    waiting = true
                    metrics.unrecorded.add(Double(outcomes.count))
                }
                continue
            }
        }
        app.logger.log(.error, "could not record send outcomes before stopping; the messages will be sent again", [:])
        return nil
    }

    private func moveAll(_ moves: [OutboxMove]) async throws {
        guard !moves.isEmpty else { return }
        try await app.store.pool.withConnection { c in try OutboxTransitions.apply(moves, on: c) }
    }

    private var metadata: JSON { ["actor": "delivery-worker"] }

    /// The outcome event's data. The server's reply goes in without email addresses
    /// (`AddressRedaction`): servers quote the recipient, and the event is stored in clear.
    private func outcomeData(_ decision: SendDecision, _ message: MessageIdentity) -> JSON {
        let provider = settings.provider
        switch decision.withoutAddresses {
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
    enum Composed: Sendable {
        case mail(MailMessage)
        /// It can never be sent (erased recipient, suppressed, template gone).
        case refused(String)
        /// Not now (the database is unavailable).
        case unavailable(String)
    }

    /// Loads what the batch needs in one pooled job and builds each email (in batch order).
    private func compose(_ batch: [DueMessage]) async -> [Composed] {
        let loader = SendBatchLoader(vault: app.vault, readModel: readModel, recent: recent)
        let loaded: [String: LoadedMessage]
        do {
            loaded = try await app.store.pool.withConnection { c in try loader.load(batch, on: c) }
        } catch {
            // The database is unavailable: a temporary failure like any other.
            return batch.map { _ in .unavailable("database unavailable while preparing the message") }
        }
        var templates: [String: TemplateRecord?] = [:]
        var out: [Composed] = []
        for due in batch {
            guard let message = MessageIdentity(parsing: due.messageHex), let item = loaded[due.key] else {
                out.append(.refused("the message request is missing"))
                continue
            }
            do {
                out.append(try await compose(due, message, item, templates: &templates))
            } catch {
                out.append(.unavailable("database unavailable while preparing the message"))
            }
        }
        return out
    }

    /// Builds one email; `templates` keeps the templates read for this batch, by tenant and id.
    private func compose(
        _ due: DueMessage, _ message: MessageIdentity, _ loaded: LoadedMessage, templates: inout [String: TemplateRecord?]
    ) async throws -> Composed {
        let tenant = due.tenant
        guard let personal = loaded.personal else { return .refused("the recipient's data was erased") }
        if let suppression = loaded.suppression { return .refused("the recipient is suppressed (\(suppression.reason))") }
        let versionID = loaded.string("template_version_id")
        var version = versionID.flatMap { versions.get(tenant: tenant, id: $0) }
        if version == nil {
            // A brand trigger names the brand and the email type; the brand says which template.
            var templateID = loaded.string("template_id") ?? ""
            if templateID.isEmpty, let type = loaded.string("email_type"),
                let mapped = loaded.brand?["templates"]?[type]?.stringValue
            {
                templateID = mapped
            }
            let cacheKey = tenant + "\u{0}" + templateID
            let template: TemplateRecord?
            if let known = templates[cacheKey] {
                template = known
            } else {
                template = try await readModel.template(tenant: tenant, id: templateID)
                templates[cacheKey] = .some(template)
                for v in template?.versions ?? [] { versions.put(tenant: tenant, v) }
            }
            guard let template else { return .refused("the template no longer exists") }
            version =
                template.versions.first { $0.id == versionID }
                ?? template.versions.last {
                    $0.name == loaded.string("template_version") && $0.locale == loaded.string("locale")
                }
                ?? TemplateVersionChoice.choose(
                    template, requestedLocale: loaded.string("locale"), customerLocale: loaded.customer?.locale,
                    versionName: nil)
        }
        guard let version else { return .refused("the template has no version to send") }
        return .mail(
            composer.compose(
                message: message, personal: personal, version: version, brand: loaded.brand,
                customerAttributes: loaded.customer?.attributes ?? [:]))
    }
}
