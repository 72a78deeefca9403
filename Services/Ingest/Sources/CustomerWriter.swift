import Domain
import EventStore
import Foundation
import HTTP
import JSON
import Postgres
import Privacy
import Service

/// Turns validated commands into sealed events and appends them. Personal fields go into the
/// `sealed` member under the customer's key; the stream is named by the keyed hash.
struct CustomerWriter: Sendable {
    let app: ServiceApp
    /// Always `.encrypted` outside `bench/ingest.sh` (see `PersonalDataSealing`).
    var sealing: PersonalDataSealing = .encrypted

    var vault: PersonalDataVault { app.vault }

    /// The subject hash of a customer id or address (cached per tenant after first use).
    func subject(tenant: String, _ id: String) async throws -> String {
        if let s = vault.cachedSubjectHash(tenant: tenant, subject: id) { return s }
        let vault = self.vault
        return try await app.store.pool.withConnection { try vault.subjectHash(tenant: tenant, subject: id, on: $0) }
    }

    func key(tenant: String, subject: String) async throws -> PersonalDataVault.SubjectKey {
        if let k = vault.cachedKeyForWriting(tenant: tenant, subjectHash: subject) { return k }
        let vault = self.vault
        return try await app.store.pool.withConnection { try vault.keyForWriting(tenant: tenant, subjectHash: subject, on: $0) }
    }

    static func nowMilliseconds() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    /// A customer's subject hash and writing key, looked up for a whole batch at once.
    struct SubjectAndKey: Sendable {
        let subject: String
        /// nil only when personal data is not sealed (the benchmark-only plaintext mode).
        let key: PersonalDataVault.SubjectKey?
    }

    /// The subjects of many customers, and their writing keys (one round trip for those not
    /// cached yet), so that a batch of operations neither hashes an id twice nor fetches,
    /// creates or even looks up keys one by one. Returns customer id → subject and key.
    func prefetchKeys(tenant: String, customerIDs: [String]) async throws -> [String: SubjectAndKey] {
        var seen = Set<String>()
        let ids = customerIDs.filter { seen.insert($0).inserted }
        var subjects: [String] = []
        subjects.reserveCapacity(ids.count)
        if let hashes = vault.cachedSubjectHashes(tenant: tenant, subjects: ids) {
            subjects = hashes
        } else {
            for id in ids { subjects.append(try await subject(tenant: tenant, id)) }
        }
        var keys = [PersonalDataVault.SubjectKey?](repeating: nil, count: ids.count)
        if sealing == .encrypted {
            keys = vault.cachedKeysForWriting(tenant: tenant, subjectHashes: subjects)
            let missing = zip(subjects, keys).compactMap { $1 == nil ? $0 : nil }
            if !missing.isEmpty {
                let vault = self.vault
                let found = try await app.store.pool.withConnection {
                    try vault.keysForWriting(tenant: tenant, subjectHashes: missing, on: $0)
                }
                for i in keys.indices where keys[i] == nil { keys[i] = found[subjects[i]] }
            }
        }
        var out: [String: SubjectAndKey] = [:]
        out.reserveCapacity(ids.count)
        for i in ids.indices { out[ids[i]] = SubjectAndKey(subject: subjects[i], key: keys[i]) }
        return out
    }

    /// A sealed event for `subject`'s stream.
    /// `known`: the subject's writing key when the caller has it already (batches).
    func sealedEvent(
        type: String, id: UUID, tenant: String, subject: String, clear: JSONObject, personal: JSON, request: HTTPRequest,
        known: PersonalDataVault.SubjectKey? = nil
    ) async throws -> NewEvent {
        let key: PersonalDataVault.SubjectKey?
        if sealing != .encrypted { key = nil } else if let known { key = known } else { key = try await self.key(tenant: tenant, subject: subject) }
        return try event(
            type: type, id: id, tenant: tenant, subject: subject, clear: clear, personal: personal, request: request, key: key)
    }

    /// The event `sealedEvent` builds, without waiting: nil when the subject's writing key is not
    /// cached yet (the async path fetches or creates it).
    func sealedEventNow(
        type: String, id: UUID, tenant: String, subject: String, clear: JSONObject, personal: JSON, request: HTTPRequest
    ) throws -> NewEvent? {
        var key: PersonalDataVault.SubjectKey?
        if sealing == .encrypted {
            guard let cached = vault.cachedKeyForWriting(tenant: tenant, subjectHash: subject) else { return nil }
            key = cached
        }
        return try event(
            type: type, id: id, tenant: tenant, subject: subject, clear: clear, personal: personal, request: request, key: key)
    }

    /// The event with the personal part sealed under `key` (in clear only without a key, which
    /// happens in the benchmark-only mode alone). Its data is `clear`'s members, then `subject`,
    /// then `sealed` (or `personal_in_clear`); its metadata `request_id`, `actor`, `key_id`?.
    /// Both are written as bytes directly: every ingested event comes through here, and building
    /// trees only to serialize them showed in profiles.
    private func event(
        type: String, id: UUID, tenant: String, subject: String, clear: JSONObject, personal: JSON, request: HTTPRequest,
        key: PersonalDataVault.SubjectKey?
    ) throws -> NewEvent {
        var data: [UInt8] = []
        data.reserveCapacity(256)
        data.append(UInt8(ascii: "{"))
        for (name, value) in clear {
            JSON.writeString(name, into: &data)
            data.append(UInt8(ascii: ":"))
            value.write(into: &data)
            data.append(UInt8(ascii: ","))
        }
        Self.appendMember("subject", subject, to: &data)
        data.append(UInt8(ascii: ","))
        if let key {
            Self.appendMember("sealed", try vault.seal(personal, with: key, tenant: tenant), to: &data)
        } else {
            JSON.writeString("personal_in_clear", into: &data)
            data.append(UInt8(ascii: ":"))
            personal.write(into: &data)
        }
        data.append(UInt8(ascii: "}"))
        return NewEvent(
            id: id, type: type, serializedData: data, serializedMetadata: metadataBytes(request, tenant: tenant, keyID: key?.id),
            keyID: key?.id)
    }

    /// Every ingest event's metadata: `request_id`, `actor` (the site), `key_id` when sealed.
    private func metadataBytes(_ request: HTTPRequest, tenant: String, keyID: UUID?) -> [UInt8] {
        var m: [UInt8] = []
        m.reserveCapacity(112)
        m.append(UInt8(ascii: "{"))
        Self.appendMember("request_id", request.requestID, to: &m)
        m.append(UInt8(ascii: ","))
        Self.appendMember("actor", tenant, to: &m)
        if let keyID {
            m.append(contentsOf: #","key_id":""#.utf8)
            keyID.appendLowercaseText(to: &m)
            m.append(UInt8(ascii: "\""))
        }
        m.append(UInt8(ascii: "}"))
        return m
    }

    private static func appendMember(_ name: String, _ value: String, to out: inout [UInt8]) {
        JSON.writeString(name, into: &out)
        out.append(UInt8(ascii: ":"))
        JSON.writeString(value, into: &out)
    }

    /// `known`: the customer's subject hash and key when the caller already has them (batches).
    func upsert(
        _ u: CustomerUpsert, source: String, tenant: String, eventID: UUID, request: HTTPRequest, known: SubjectAndKey? = nil
    ) async throws -> StreamAppend {
        let subject = if let known { known.subject } else { try await self.subject(tenant: tenant, u.id) }
        let event = try await sealedEvent(
            type: EventCatalog.customerUpserted, id: eventID, tenant: tenant, subject: subject,
            clear: Self.upsertClearPart(source), personal: u.sealedPart, request: request, known: known?.key)
        return StreamAppend(tenant: tenant, stream: EventCatalog.customerStream(subject: subject), events: [event])
    }

    /// `upsert` without waiting: nil when the customer's subject hash or key is not cached yet.
    func upsertNow(_ u: CustomerUpsert, source: String, tenant: String, eventID: UUID, request: HTTPRequest) throws
        -> StreamAppend?
    {
        guard let subject = vault.cachedSubjectHash(tenant: tenant, subject: u.id),
            let event = try sealedEventNow(
                type: EventCatalog.customerUpserted, id: eventID, tenant: tenant, subject: subject,
                clear: Self.upsertClearPart(source), personal: u.sealedPart, request: request)
        else { return nil }
        return StreamAppend(tenant: tenant, stream: EventCatalog.customerStream(subject: subject), events: [event])
    }

    private static func upsertClearPart(_ source: String) -> JSONObject {
        ["source": .string(source), "occurred_at": .int64(nowMilliseconds())]
    }

    /// `known`: as for `upsert`.
    func track(
        _ t: TrackedEvent, tenant: String, eventID: UUID, request: HTTPRequest, known: SubjectAndKey? = nil
    ) async throws -> StreamAppend {
        let subject = if let known { known.subject } else { try await self.subject(tenant: tenant, t.customerID) }
        let event = try await sealedEvent(
            type: EventCatalog.customerEventTracked, id: Self.trackedEventID(t, tenant: tenant, subject: subject, eventID),
            tenant: tenant, subject: subject, clear: Self.trackedClearPart(t), personal: t.sealedPart, request: request,
            known: known?.key)
        return Self.trackedAppend(event, tenant: tenant)
    }

    /// `track` without waiting: nil when the customer's subject hash or key is not cached yet.
    func trackNow(_ t: TrackedEvent, tenant: String, eventID: UUID, request: HTTPRequest) throws -> StreamAppend? {
        guard let subject = vault.cachedSubjectHash(tenant: tenant, subject: t.customerID),
            let event = try sealedEventNow(
                type: EventCatalog.customerEventTracked, id: Self.trackedEventID(t, tenant: tenant, subject: subject, eventID),
                tenant: tenant, subject: subject, clear: Self.trackedClearPart(t), personal: t.sealedPart, request: request)
        else { return nil }
        return Self.trackedAppend(event, tenant: tenant)
    }

    /// A tracked event goes in a stream of its own, named by its id (see
    /// `EventCatalog.trackedEventStream`): a retry with the same ids collides on it.
    private static func trackedAppend(_ event: NewEvent, tenant: String) -> StreamAppend {
        StreamAppend(
            tenant: tenant, stream: EventCatalog.trackedEventStream(eventID: event.id),
            expected: .noStream, events: [event])
    }

    /// customer.io's event `id` deduplicates: the event id is derived from it when given.
    private static func trackedEventID(_ t: TrackedEvent, tenant: String, subject: String, _ eventID: UUID) -> UUID {
        t.clientEventID.map { DeterministicID.uuid("track|\(tenant)|\(subject)|\($0)") } ?? eventID
    }

    private static func trackedClearPart(_ t: TrackedEvent) -> JSONObject {
        ["name": .string(t.name), "occurred_at": .int64(t.timestampMilliseconds ?? nowMilliseconds())]
    }

    /// What erasing a customer involves: the tombstone and audit events, and the subjects whose
    /// keys are destroyed. nil when the customer does not exist (never created, or deleted).
    struct Erasure: Sendable {
        let appends: [StreamAppend]
        let subjects: [String]
        /// The customer's addresses (and its id when that is one), for `complete`.
        let addresses: [String]
    }

    func erasure(customerID: String, tenant: String, eventID: (Int) -> UUID, request: HTTPRequest) async throws -> Erasure? {
        let subject = try await self.subject(tenant: tenant, customerID)
        let stream = EventCatalog.customerStream(subject: subject)
        let vault = self.vault
        // Read the stream: does the customer exist, and which addresses did it have?
        let (exists, version, emails) = try await app.store.pool.withConnection { c -> (Bool, Int64, [String]) in
            let events = try EventReader.readStream(tenant: tenant, stream: stream, on: c)
            let lastDelete = events.lastIndex { $0.type == EventCatalog.customerDeleted }
            let live = events[(lastDelete.map { $0 + 1 } ?? 0)...]
            var emails: [String] = []
            var exists = false
            for e in live where e.type == EventCatalog.customerUpserted {
                exists = true
                if let sealed = e.data["sealed"]?.stringValue, let keyText = e.metadata["key_id"]?.stringValue,
                    let keyID = UUID(uuidString: keyText),
                    let personal = try? vault.open(sealed, keyID: keyID, tenant: tenant, on: c),
                    let email = personal["email"]?.stringValue, !emails.contains(email)
                {
                    emails.append(email)
                }
            }
            return (exists, events.last?.version ?? 0, emails)
        }
        guard exists else { return nil }
        var subjects = [subject]
        for email in emails {
            let s = try await self.subject(tenant: tenant, email)
            if !subjects.contains(s) { subjects.append(s) }
        }
        let now = Self.nowMilliseconds()
        let erased = JSON.array(subjects.map { .string($0) })
        let metadata = metadataBytes(request, tenant: tenant, keyID: nil)
        let tombstone = NewEvent(
            id: eventID(0), type: EventCatalog.customerDeleted,
            serializedData: JSON.object(["subject": .string(subject), "erased_subjects": erased, "occurred_at": .int64(now)]).bytes,
            serializedMetadata: metadata)
        let audit = NewEvent(
            id: eventID(1), type: EventCatalog.erasureRecorded,
            serializedData: JSON.object([
                "subject": .string(subject), "erased_subjects": erased, "actor": .string(tenant), "occurred_at": .int64(now),
            ]).bytes,
            serializedMetadata: metadata)
        return Erasure(
            appends: [
                StreamAppend(tenant: tenant, stream: stream, expected: .exact(version), events: [tombstone]),
                StreamAppend(tenant: tenant, stream: EventCatalog.auditStream, events: [audit]),
            ], subjects: subjects, addresses: (customerID.contains("@") ? [customerID] : []) + emails)
    }

    /// Completes erasures once their events are appended: destroys the keys of the erased
    /// subjects (crypto-shredding) and forgets the stored responses that quote their addresses.
    func complete(_ erasures: [Erasure], tenant: String) async throws {
        let vault = self.vault
        let subjects = erasures.flatMap(\.subjects)
        try await app.store.pool.withConnection { c in
            for s in subjects { try vault.destroyKey(tenant: tenant, subjectHash: s, on: c) }
        }
        try await app.idempotency.forgetResponses(tenant: tenant, naming: erasures.flatMap(\.addresses))
    }

    /// Appends; when an erasure destroyed a key meanwhile, forgets it and rebuilds once.
    func append(_ build: () async throws -> [StreamAppend]) async throws -> AppendResult {
        let units = try await build()
        do {
            return try await app.store.append(units)
        } catch AppendError.keyDestroyed {
            forgetWritingKeys(of: units)
            return try await app.store.append(try await build())
        }
    }

    /// After the store refused `units` because a key was destroyed meanwhile (an erasure raced
    /// them): forget their cached writing keys, so building them again fetches live ones.
    func forgetWritingKeys(of units: [StreamAppend]) {
        for u in units {
            if let s = u.events.first?.data["subject"]?.stringValue { vault.forgetWritingKey(tenant: u.tenant, subjectHash: s) }
        }
    }
}
