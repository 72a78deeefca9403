import Crypto
import EventStore
import Foundation
import JSON
import Postgres
import Privacy
import TestSupport
import Testing

@Suite struct PersonalDataVaultTests {
    func setUp(_ masterKey: String) async throws -> (EventStore, PersonalDataVault) {
        let store = EventStore(configuration: .init(url: try TestPostgres.makeDatabase()))
        try await store.migrate()
        return (store, PersonalDataVault(masterKeys: try MasterKeyring(configuration: masterKey)))
    }

    @Test func sealOpenDestroyAndStartAgain() async throws {
        let (store, vault) = try await setUp(MasterKeyring.generateEntry(id: "m1"))
        let personal: JSON = ["email": "ann@example.com", "attributes": ["plan": "gold"]]
        let (sealed, key, subject) = try await store.pool.withConnection { c in
            let subject = try vault.subjectHash(tenant: "t", subject: "ann@example.com", on: c)
            let key = try vault.keyForWriting(tenant: "t", subjectHash: subject, on: c)
            return (try vault.seal(personal, with: key, tenant: "t"), key, subject)
        }
        #expect(!sealed.contains("ann"))
        #expect(subject.count == 32)
        // Another tenant's hash of the same address differs (keyed per tenant).
        let other = try await store.pool.withConnection { try vault.subjectHash(tenant: "u", subject: "ann@example.com", on: $0) }
        #expect(other != subject)
        #expect(try await store.pool.withConnection { try vault.open(sealed, keyID: key.id, tenant: "t", on: $0) } == personal)
        // Sealed for tenant t cannot be opened as tenant u (AAD).
        await #expect(throws: (any Error).self) {
            try await store.pool.withConnection { try vault.open(sealed, keyID: key.id, tenant: "u", on: $0) }
        }
        let destroyed = try await store.pool.withConnection { try vault.destroyKey(tenant: "t", subjectHash: subject, on: $0) }
        #expect(destroyed == key.id)
        // Even a fresh vault (no cache) cannot open it any more; a new key is made for new data.
        let fresh = PersonalDataVault(masterKeys: vault.masterKeys)
        #expect(try await store.pool.withConnection { try fresh.open(sealed, keyID: key.id, tenant: "t", on: $0) } == nil)
        let newKey = try await store.pool.withConnection { try fresh.keyForWriting(tenant: "t", subjectHash: subject, on: $0) }
        #expect(newKey.id != key.id)
        store.shutdown()
    }

    /// Data sealed with a key that is destroyed before its append lands (an erasure racing a
    /// write) is never written: the append locks the keys it relies on and refuses when one is
    /// gone, even when its plan came from the cache of stream heads; a writer then seals again
    /// with a new key.
    @Test func anAppendSealedWithAKeyDestroyedMeanwhileWritesNothing() async throws {
        let (store, vault) = try await setUp(MasterKeyring.generateEntry(id: "m3"))
        let (key, subject) = try await store.pool.withConnection { c in
            let subject = try vault.subjectHash(tenant: "t", subject: "bo@example.com", on: c)
            return (try vault.keyForWriting(tenant: "t", subjectHash: subject, on: c), subject)
        }
        func event(_ n: Int) throws -> NewEvent {
            NewEvent(
                type: "test.sealed", data: ["sealed": .string(try vault.seal(["n": .int(n)], with: key, tenant: "t"))],
                keyID: key.id)
        }
        // A first append while the key lives (it also caches the stream's head).
        _ = try await store.append(StreamAppend(tenant: "t", stream: "sealed-1", events: [try event(1)]))
        let next = try event(2)
        _ = try await store.pool.withConnection { try vault.destroyKey(tenant: "t", subjectHash: subject, on: $0) }
        await #expect(throws: AppendError.keyDestroyed) {
            _ = try await store.append(StreamAppend(tenant: "t", stream: "sealed-1", events: [next]))
        }
        await #expect(throws: AppendError.keyDestroyed) {
            _ = try await store.append(StreamAppend(tenant: "t", stream: "sealed-2", expected: .noStream, events: [try event(3)]))
        }
        let rows = try await store.pool.withConnection { c in
            try c.execute("SELECT count(*) FROM events WHERE type = 'test.sealed'")[0].int(0)
        }
        #expect(rows == 1, "only the append made while the key lived")
        store.shutdown()
    }

    @Test func aMasterKeyThatCannotOpenTheStoredKeysIsNamed() async throws {
        let m1 = MasterKeyring.generateEntry(id: "m1")
        let (store, vault) = try await setUp(m1)
        defer { store.shutdown() }
        func problem(_ configuration: String) async throws -> String? {
            let v = PersonalDataVault(masterKeys: try MasterKeyring(configuration: configuration))
            return try await store.pool.withConnection { try v.masterKeyProblem(on: $0) }
        }
        #expect(try await problem(m1) == nil)  // nothing stored yet
        _ = try await store.pool.withConnection { c in
            try vault.keyForWriting(tenant: "t", subjectHash: try vault.subjectHash(tenant: "t", subject: "ann", on: c), on: c)
        }
        #expect(try await problem(m1) == nil)
        #expect(try await problem(MasterKeyring.generateEntry(id: "m2") + "," + m1) == nil)  // rotating
        let wrongMaterial = try await problem(MasterKeyring.generateEntry(id: "m1"))
        #expect(wrongMaterial?.contains("'m1'") == true && wrongMaterial?.contains("wrong key material") == true)
        let missing = try await problem(MasterKeyring.generateEntry(id: "m2"))
        #expect(missing?.contains("'m1'") == true && missing?.contains("does not hold") == true)
    }

    @Test func masterKeyRotationKeepsLiveSubjectsReadable() async throws {
        let old = MasterKeyring.generateEntry(id: "old")
        let (store, vault) = try await setUp(old)
        var sealedItems: [(String, UUID)] = []
        for i in 0..<5 {
            let item = try await store.pool.withConnection { c -> (String, UUID) in
                let s = try vault.subjectHash(tenant: "t", subject: "c\(i)", on: c)
                let k = try vault.keyForWriting(tenant: "t", subjectHash: s, on: c)
                return (try vault.seal(["i": .int(i)], with: k, tenant: "t"), k.id)
            }
            sealedItems.append(item)
        }
        // New master key first, old one still listed: rewrap everything.
        let newEntry = MasterKeyring.generateEntry(id: "new")
        let rotated = PersonalDataVault(masterKeys: try MasterKeyring(configuration: newEntry + "," + old))
        let moved = try await store.pool.withConnection { try rotated.rotateMasterKey(on: $0) }
        #expect(moved == 6)  // 5 subject keys + 1 tenant key
        // Drop the old master key entirely: everything still opens, hashes are unchanged.
        let remaining = try await store.pool.execute("SELECT count(*) FROM subject_keys WHERE master_key_id <> 'new'")
        #expect(remaining[0].int(0) == 0)
        let afterRotation = PersonalDataVault(masterKeys: try MasterKeyring(configuration: newEntry))
        for (i, (sealed, keyID)) in sealedItems.enumerated() {
            let opened = try await store.pool.withConnection { try afterRotation.open(sealed, keyID: keyID, tenant: "t", on: $0) }
            #expect(opened == ["i": .int(i)])
        }
        store.shutdown()
    }
}
