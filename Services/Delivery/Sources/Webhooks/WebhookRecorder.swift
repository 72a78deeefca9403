import Domain
import EventStore
import Foundation
import HTTP
import JSON
import Postgres
import Privacy
import Service
import Webhooks

/// Makes verified provider events durable in one atomic append: each becomes a
/// `message.provider_event` on its log's stream, or a `webhook.unmatched` when no log matches
/// yet; events that suppress their recipient also add a sealed `suppression.added`. Event ids
/// are deterministic, and those already stored are left out, so a provider's retry appends
/// nothing twice.
struct WebhookRecorder: Sendable {
    let app: ServiceApp
    /// The longest an event that names a provider message id and matches no log waits for the
    /// correlation projection to catch up before it is kept as unmatched (it is attached later
    /// either way).
    static let correlationWait: Duration = .seconds(2)

    /// What one request stored.
    struct Outcome: Sendable {
        /// Events appended to a log's stream.
        var attached = 0
        /// Events kept as `webhook.unmatched` until their log appears.
        var unmatched = 0
        /// Events (and their derived events) already stored before.
        var duplicates = 0
        /// Suppressions added.
        var suppressions = 0
        /// Where the append landed (nil when nothing was new).
        var checkpoint: Checkpoint?

        var json: JSON {
            [
                "success": true, "status": "OK", "attached": .int(attached), "unmatched": .int(unmatched),
                "duplicates": .int(duplicates), "suppressions": .int(suppressions),
            ]
        }
    }

    /// Stores `events` for `tenant`. Throws (→ 503) when the database cannot take them.
    func record(_ events: [ProviderEvent], tenant: String, requestID: String) async throws -> Outcome {
        var seen = Set<UUID>()
        let unique = events.filter { seen.insert($0.eventID).inserted }
        guard !unique.isEmpty else { return Outcome() }
        var attempt = 0
        while true {
            attempt += 1
            do {
                return try await recordOnce(unique, tenant: tenant, requestID: requestID)
            } catch AppendError.partialDuplicate where attempt < 4 {
                // A concurrent retry stored some of the same events first: look again.
                continue
            } catch AppendError.keyDestroyed where attempt < 4 {
                // An erasure destroyed an address key meanwhile: seal again under a fresh key.
                app.vault.forgetCachedKeys()
                continue
            }
        }
    }

    private func recordOnce(_ events: [ProviderEvent], tenant: String, requestID: String) async throws -> Outcome {
        let keys = events.map(CorrelationKeys.init)
        var ids: [UUID] = []
        for e in events {
            ids.append(e.eventID)
            ids.append(ProviderEventRecord.unmatchedID(e.eventID))
            if e.suppresses { ids.append(ProviderEventRecord.suppressionID(e.eventID)) }
        }
        let idList = ids
        var (candidates, existing) = try await app.store.pool.withConnection { c -> ([CorrelatedLog], Set<UUID>) in
            let candidates = try CorrelationLookup.candidates(tenant: tenant, keys: keys, on: c)
            let rows = try c.execute(
                "SELECT event_id::text FROM events WHERE event_id = ANY($1::uuid[])", [PostgresArray(idList)])
            return (candidates, Set(rows.rows.compactMap { $0[0].flatMap(UUID.init(uuidString:)) }))
        }
        // A provider message id is known from the `sent` event, and a send committed moments ago
        // may not be in the correlation projection yet (a fast provider): before keeping such an
        // event as unmatched, wait (briefly) for the projection to reach the newest committed
        // event, and look again. Log ids and our Message-ID were looked up in the event table
        // itself; waiting would not find more of them.
        let someUnmatched = zip(events, keys).contains { event, key in
            !existing.contains(event.eventID) && !existing.contains(ProviderEventRecord.unmatchedID(event.eventID))
                && key.providerMessageID != nil && key.match(in: candidates) == nil
        }
        if someUnmatched {
            let newest = try await app.store.newestCheckpoint()
            _ = try await app.waitForProjection(
                named: CorrelationProjection.projectionName, toReach: newest, timeout: Self.correlationWait)
            candidates = try await app.store.pool.withConnection { c in
                try CorrelationLookup.candidates(tenant: tenant, keys: keys, on: c)
            }
        }

        var outcome = Outcome()
        var appends = StreamAppends(tenant: tenant)
        var suppressions: [(event: ProviderEvent, address: String)] = []
        for (event, key) in zip(events, keys) {
            let unmatchedID = ProviderEventRecord.unmatchedID(event.eventID)
            if existing.contains(event.eventID) {
                outcome.duplicates += 1
            } else if let log = key.match(in: candidates) {
                appends.add(
                    ProviderEventRecord.matchedEvent(event, log: log, requestID: requestID),
                    to: EventCatalog.messageStream(messageHex: log.messageHex))
                outcome.attached += 1
            } else if existing.contains(unmatchedID) {
                outcome.duplicates += 1
            } else {
                appends.add(
                    ProviderEventRecord.unmatchedEvent(event, keys: key, requestID: requestID),
                    to: WebhookEvents.pendingStream(
                        tenant: tenant, shard: WebhookEvents.pendingShard(requestID: requestID)))
                outcome.unmatched += 1
            }
            if event.suppresses, let address = event.recipient?.trimmingCharacters(in: .whitespaces).lowercased(),
                !address.isEmpty, !existing.contains(ProviderEventRecord.suppressionID(event.eventID))
            {
                suppressions.append((event, address))
            }
        }
        if !suppressions.isEmpty {
            for (stream, event) in try await suppressionEvents(suppressions, tenant: tenant, requestID: requestID) {
                appends.add(event, to: stream)
            }
            outcome.suppressions = suppressions.count
        }
        guard !appends.isEmpty else { return outcome }
        let result = try await app.store.append(appends.units)
        outcome.checkpoint = result.checkpoint
        return outcome
    }

    /// Sealed `suppression.added` events, one per (event, lowercased address).
    private func suppressionEvents(
        _ items: [(event: ProviderEvent, address: String)], tenant: String, requestID: String
    ) async throws -> [(String, NewEvent)] {
        let vault = app.vault
        let sendable = items.map { (id: $0.event.eventID, provider: $0.event.provider, status: $0.event.status,
            occurred: $0.event.occurredAtMilliseconds, logID: $0.event.logID, key: $0.event.providerEventKey,
            address: $0.address) }
        return try await app.store.pool.withConnection { c in
            var out: [(String, NewEvent)] = []
            for item in sendable {
                let subject = try vault.subjectHash(tenant: tenant, subject: item.address, on: c)
                let key = try vault.keyForWriting(tenant: tenant, subjectHash: subject, on: c)
                let sealed = try vault.seal(["address": .string(item.address)], with: key, tenant: tenant)
                var data: JSONObject = [
                    "address_subject": .string(subject), "reason": .string(item.status.rawValue),
                    "source": .string(item.provider.rawValue), "occurred_at": .int64(item.occurred),
                    "provider_event_id": .string(item.key), "sealed": .string(sealed),
                ]
                if let logID = item.logID { data["log_id"] = .string(logID) }
                var metadata = ProviderEventRecord.metadata(item.provider, requestID: requestID).objectValue ?? [:]
                metadata["key_id"] = .string(key.id.uuidString.lowercased())
                out.append(
                    (
                        WebhookEvents.suppressionStream(addressSubject: subject),
                        NewEvent(
                            id: ProviderEventRecord.suppressionID(item.id), type: WebhookEvents.suppressionAdded,
                            data: .object(data), metadata: .object(metadata), keyID: key.id)
                    ))
            }
            return out
        }
    }
}

/// Events grouped by stream, in first-seen order: the units of one atomic append.
struct StreamAppends {
    let tenant: String
    private var order: [String] = []
    private var events: [String: [NewEvent]] = [:]

    init(tenant: String) { self.tenant = tenant }

    var isEmpty: Bool { order.isEmpty }

    mutating func add(_ event: NewEvent, to stream: String) {
        if events[stream] == nil { order.append(stream) }
        events[stream, default: []].append(event)
    }

    var units: [StreamAppend] {
        order.map { StreamAppend(tenant: tenant, stream: $0, events: events[$0] ?? []) }
    }
}

extension HTTPError {
    /// The answer when the events could not be made durable: the provider retries later.
    static let storageUnavailable = HTTPError(
        .serviceUnavailable, "the events could not be stored; retry later", headers: ["Retry-After": "5"])
}
