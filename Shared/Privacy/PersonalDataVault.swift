import Crypto
import EventStore
import Foundation
import JSON
import Postgres
import Synchronization

/// Where personal data keys live and how personal data is sealed into events.
///
/// - Each tenant has a random HMAC key; customer ids and email addresses appear in stream names
///   and indexed columns only as `subjectHash` (HMAC under that key), never in clear.
/// - Each subject (tenant + customer) has a random AES-256-GCM data key. An event's personal
///   fields are sealed under it; the event's metadata names the key (`key_id`).
/// - Both kinds of key are stored wrapped under the master key from configuration.
/// - Erasure deletes the subject's key row: every event sealed under it becomes unreadable.
public final class PersonalDataVault: Sendable {
    /// A subject's data key.
    public struct SubjectKey: Sendable {
        public let id: UUID
        let key: SymmetricKey
    }

    public let masterKeys: MasterKeyring
    private let tenantHashers = Mutex<[String: HMACSHA256]>([:])
    /// Writing keys by tenant, then subject hash (two lookups instead of building a combined
    /// key string for every sealed event).
    private let writeKeys = Mutex<[String: [String: SubjectKey]]>([:])
    private let readKeys = Mutex<[UUID: SymmetricKey]>([:])

    public init(masterKeys: MasterKeyring) {
        self.masterKeys = masterKeys
    }

    // MARK: Subject hashes

    /// The keyed hash naming `subject` (a customer id or address) for `tenant`: 32 hex digits.
    public func subjectHash(tenant: String, subject: String, on connection: PostgresConnection) throws -> String {
        let hasher = try tenantHasher(tenant, on: connection)
        return Self.subjectText(hasher.authenticationCode(for: Array(subject.utf8)))
    }

    /// The subject hash when the tenant's key is already in memory (no database round trip).
    public func cachedSubjectHash(tenant: String, subject: String) -> String? {
        guard let h = tenantHashers.withLock({ $0[tenant] }) else { return nil }
        return Self.subjectText(h.authenticationCode(for: Array(subject.utf8)))
    }

    /// The subject hashes of many subjects, in order, when the tenant's key is already in memory.
    public func cachedSubjectHashes(tenant: String, subjects: [String]) -> [String]? {
        guard let h = tenantHashers.withLock({ $0[tenant] }) else { return nil }
        return h.authenticationCodes(forUTF8: subjects).map(Self.subjectText)
    }

    /// The first 16 bytes of a MAC as 32 lowercase hex digits (written directly: the generic
    /// `hexString` over a slice showed in profiles of ingest).
    static func subjectText(_ mac: [UInt8]) -> String {
        precondition(mac.count >= 16)
        return String(unsafeUninitializedCapacity: 32) { out in
            for i in 0..<16 {
                let b = mac[i]
                let hi = b >> 4, lo = b & 0x0F
                out[2 * i] = hi < 10 ? 0x30 + hi : 0x57 + hi
                out[2 * i + 1] = lo < 10 ? 0x30 + lo : 0x57 + lo
            }
            return 32
        }
    }

    /// The writing keys of many subjects (nil where not in memory), in order, under one lock.
    public func cachedKeysForWriting(tenant: String, subjectHashes: [String]) -> [SubjectKey?] {
        writeKeys.withLock { cache in
            guard let keys = cache[tenant] else { return [SubjectKey?](repeating: nil, count: subjectHashes.count) }
            return subjectHashes.map { keys[$0] }
        }
    }

    /// The subject's writing key when it is already in memory.
    public func cachedKeyForWriting(tenant: String, subjectHash: String) -> SubjectKey? {
        writeKeys.withLock { $0[tenant]?[subjectHash] }
    }

    private func tenantHasher(_ tenant: String, on connection: PostgresConnection) throws -> HMACSHA256 {
        if let h = tenantHashers.withLock({ $0[tenant] }) { return h }
        let fresh = masterKeys.wrap(SymmetricKey.generate())
        try connection.execute(
            "INSERT INTO tenant_keys (tenant, master_key_id, wrapped_key) VALUES ($1, $2, $3) ON CONFLICT (tenant) DO NOTHING",
            [tenant, masterKeys.activeID, PostgresBytes(fresh)])
        let row = try connection.execute("SELECT wrapped_key FROM tenant_keys WHERE tenant = $1", [tenant])
        guard let wrapped = row.rows.first?.bytes(0) else { throw PostgresError(code: .serverError) }
        let key = try masterKeys.unwrap(wrapped)
        let hasher = HMACSHA256(key: key.bytes)
        tenantHashers.withLock { $0[tenant] = hasher }
        return hasher
    }

    // MARK: Subject keys

    /// The live key of a subject, created when it has none (after an erasure, a new one).
    public func keyForWriting(tenant: String, subjectHash: String, on connection: PostgresConnection) throws -> SubjectKey {
        if let k = writeKeys.withLock({ $0[tenant]?[subjectHash] }) { return k }
        let candidate = SymmetricKey.generate()
        try connection.execute(
            """
            INSERT INTO subject_keys (key_id, tenant, subject, master_key_id, wrapped_key)
            VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant, subject) DO NOTHING
            """, [UUID(), tenant, subjectHash, masterKeys.activeID, PostgresBytes(masterKeys.wrap(candidate))])
        let row = try connection.execute(
            "SELECT key_id, wrapped_key FROM subject_keys WHERE tenant = $1 AND subject = $2", [tenant, subjectHash])
        guard let r = row.rows.first, let id = r[0].flatMap(UUID.init(uuidString:)), let wrapped = r.bytes(1) else {
            throw PostgresError(code: .serverError)
        }
        let key = SubjectKey(id: id, key: try masterKeys.unwrap(wrapped))
        writeKeys.withLock { $0[tenant, default: [:]][subjectHash] = key }
        readKeys.withLock { $0[id] = key.key }
        return key
    }

    /// The live keys of many subjects at once (created where missing): one statement that
    /// inserts the missing ones and returns those it inserted (keys this call generated, so
    /// nothing to unwrap), and a second only for subjects another writer keyed meanwhile. For
    /// batch writes such as `/v1/Email/`.
    public func keysForWriting(tenant: String, subjectHashes: [String], on connection: PostgresConnection) throws
        -> [String: SubjectKey]
    {
        let subjects = Set(subjectHashes)
        var found: [String: SubjectKey] = [:]
        var missing: [String] = []
        writeKeys.withLock { cache in
            for s in subjects {
                if let k = cache[tenant]?[s] { found[s] = k } else { missing.append(s) }
            }
        }
        // In a stable order: concurrent batches creating the same keys then wait for each other
        // on the unique index instead of deadlocking (40P01).
        missing.sort()
        guard !missing.isEmpty else { return found }
        var candidates: [String: SubjectKey] = [:]
        var ids: [String?] = []
        var wrapped: [String?] = []
        for subject in missing {
            let id = RandomUUID.make()
            let key = SymmetricKey.generate()
            candidates[subject] = SubjectKey(id: id, key: key)
            ids.append(id.lowercaseText)
            wrapped.append(PostgresBytes(masterKeys.wrap(key)).postgresText)
        }
        let inserted = try connection.execute(
            """
            INSERT INTO subject_keys (key_id, tenant, subject, master_key_id, wrapped_key)
            SELECT k.id::uuid, $1, k.subject, $2, k.wrapped::bytea
            FROM unnest($3::text[], $4::text[], $5::text[]) AS k(id, subject, wrapped)
            ON CONFLICT (tenant, subject) DO NOTHING
            RETURNING subject
            """, [tenant, masterKeys.activeID, PostgresArray(ids), PostgresArray(missing), PostgresArray(wrapped)])
        for r in inserted.rows {
            guard let subject = r[0], let key = candidates.removeValue(forKey: subject) else { continue }
            found[subject] = key
        }
        // Subjects keyed by someone else since the cache was consulted: read their keys.
        if !candidates.isEmpty {
            let rows = try connection.execute(
                "SELECT subject, key_id, wrapped_key FROM subject_keys WHERE tenant = $1 AND subject = ANY($2::text[])",
                [tenant, PostgresArray(candidates.keys.sorted())])
            for r in rows.rows {
                guard let subject = r[0], let id = r[1].flatMap(UUID.init(uuidString:)), let w = r.bytes(2) else { continue }
                found[subject] = SubjectKey(id: id, key: try masterKeys.unwrap(w))
            }
        }
        writeKeys.withLock { cache in
            for s in missing { if let k = found[s] { cache[tenant, default: [:]][s] = k } }
        }
        readKeys.withLock { cache in
            for s in missing { if let k = found[s] { cache[k.id] = k.key } }
        }
        guard found.count == subjects.count else { throw PostgresError(code: .serverError) }
        return found
    }

    /// Forgets a cached writing key (after the appender refused it as destroyed).
    public func forgetWritingKey(tenant: String, subjectHash: String) {
        _ = writeKeys.withLock { $0[tenant]?.removeValue(forKey: subjectHash) }
    }

    /// The key with `id`, or nil when it was destroyed.
    public func keyForReading(_ id: UUID, on connection: PostgresConnection) throws -> SymmetricKey? {
        if let k = readKeys.withLock({ $0[id] }) { return k }
        let row = try connection.execute("SELECT wrapped_key FROM subject_keys WHERE key_id = $1", [id])
        guard let wrapped = row.rows.first?.bytes(0) else { return nil }
        let key = try masterKeys.unwrap(wrapped)
        readKeys.withLock { $0[id] = key }
        return key
    }

    /// Destroys the subject's key (crypto-shredding). Returns the destroyed key id, if any.
    @discardableResult
    public func destroyKey(tenant: String, subjectHash: String, on connection: PostgresConnection) throws -> UUID? {
        let row = try connection.execute(
            "DELETE FROM subject_keys WHERE tenant = $1 AND subject = $2 RETURNING key_id", [tenant, subjectHash])
        forgetWritingKey(tenant: tenant, subjectHash: subjectHash)
        let id = row.rows.first?[0].flatMap(UUID.init(uuidString:))
        if let id { _ = readKeys.withLock { $0.removeValue(forKey: id) } }
        return id
    }

    /// Drops every cached key (before a projection rebuild, so nothing erased is served from memory).
    public func forgetCachedKeys() {
        writeKeys.withLock { $0.removeAll() }
        readKeys.withLock { $0.removeAll() }
    }

    // MARK: Sealing

    /// Seals personal fields under a subject key; the result goes into the event as a string.
    public func seal(_ personal: JSON, with key: SubjectKey, tenant: String) throws -> String {
        let box = try AES256GCM.seal(personal.bytes, key: key.key, authenticating: Self.aad(tenant: tenant, keyID: key.id))
        return Base64.encode(box)
    }

    /// Opens a sealed string; nil when the key was destroyed (the data is gone for good).
    public func open(_ sealed: String, keyID: UUID, tenant: String, on connection: PostgresConnection) throws -> JSON? {
        guard let key = try keyForReading(keyID, on: connection) else { return nil }
        guard let box = Base64.decode(sealed) else { return nil }
        let plain = try AES256GCM.open(box, key: key, authenticating: Self.aad(tenant: tenant, keyID: keyID))
        return try JSON.parse(plain)
    }

    /// `tenant|key id`, built from bytes (no string interpolation per sealed event).
    static func aad(tenant: String, keyID: UUID) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(tenant.utf8.count + 37)
        out.append(contentsOf: tenant.utf8)
        out.append(UInt8(ascii: "|"))
        keyID.appendLowercaseText(to: &out)
        return out
    }

    // MARK: Master key rotation

    /// Whether the configured master keys open the keys already stored: every tenant key (one
    /// per tenant) and one subject key. nil when they do (or nothing is
    /// stored yet); otherwise what is wrong, naming key ids only. A service started with the
    /// wrong `MASTER_KEY` would otherwise look healthy and fail every write that needs a key.
    public func masterKeyProblem(on connection: PostgresConnection) throws -> String? {
        let rows = try connection.execute(
            """
            SELECT master_key_id, wrapped_key FROM tenant_keys
            UNION ALL
            (SELECT master_key_id, wrapped_key FROM subject_keys LIMIT 1)
            """)
        for r in rows.rows {
            guard let id = r[0], let wrapped = r.bytes(1) else { continue }
            do {
                _ = try masterKeys.unwrap(wrapped)
            } catch .unknownMasterKeyID {
                return "stored keys are wrapped under master key '\(id)', which the keyring does not hold "
                    + "(it holds \(masterKeys.ids.map { "'\($0)'" }.joined(separator: ", ")))"
            } catch {
                return "master key '\(id)' does not open the keys stored under that id: wrong key material"
            }
        }
        return nil
    }

    /// Re-wraps every tenant and subject key still wrapped under an older master key with the
    /// active one. Returns how many keys moved. Safe to run while services are up.
    public func rotateMasterKey(on connection: PostgresConnection) throws -> Int {
        var moved = 0
        for (table, idColumn) in [("tenant_keys", "tenant"), ("subject_keys", "key_id")] {
            let rows = try connection.execute(
                "SELECT \(idColumn)::text, wrapped_key FROM \(table) WHERE master_key_id <> $1", [masterKeys.activeID])
            for r in rows.rows {
                guard let id = r[0], let wrapped = r.bytes(1) else { continue }
                let rewrapped = try masterKeys.rewrap(wrapped)
                try connection.execute(
                    "UPDATE \(table) SET wrapped_key = $2, master_key_id = $3 WHERE \(idColumn)::text = $1",
                    [id, PostgresBytes(rewrapped), masterKeys.activeID])
                moved += 1
            }
        }
        return moved
    }
}
