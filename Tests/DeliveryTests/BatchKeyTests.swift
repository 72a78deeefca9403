import Privacy
import Testing

@Suite struct BatchKeyTests {
    /// `PersonalDataVault.keysForWriting` (added for `/v1/Email/`) agrees with `keyForWriting`.
    @Test func batchKeysMatchSingleKeys() async throws {
        let h = try await DeliveryHarness.start()
        let app = h.app
        let (single, batch, again) = try await app.store.pool.withConnection { c in
            let first = PersonalDataVault(masterKeys: app.vault.masterKeys)
            let existing = try first.keyForWriting(tenant: "site1", subjectHash: "s-existing", on: c)
            // A fresh vault (empty cache) reads the existing key and creates the missing ones.
            let second = PersonalDataVault(masterKeys: app.vault.masterKeys)
            let batch = try second.keysForWriting(tenant: "site1", subjectHashes: ["s-existing", "s-new", "s-new"], on: c)
            let third = PersonalDataVault(masterKeys: app.vault.masterKeys)
            let again = try third.keysForWriting(tenant: "site1", subjectHashes: ["s-new"], on: c)
            // The key a batch created (returned without a read back) is the one stored: what it
            // sealed opens with a vault that reads it from the table.
            let sealed = try second.seal(["name": "Ada"], with: try #require(batch["s-new"]), tenant: "site1")
            let opened = try PersonalDataVault(masterKeys: app.vault.masterKeys).open(
                sealed, keyID: try #require(batch["s-new"]).id, tenant: "site1", on: c)
            #expect(opened?["name"]?.stringValue == "Ada")
            return (existing.id, batch.mapValues(\.id), again.mapValues(\.id))
        }
        #expect(batch.count == 2)
        #expect(batch["s-existing"] == single)
        #expect(batch["s-new"] != nil)
        #expect(again["s-new"] == batch["s-new"])
        await h.shutdown()
    }
}
