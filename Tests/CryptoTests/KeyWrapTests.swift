import Foundation
import Testing

@testable import Crypto

@Suite struct KeyWrapTests {
    let master = SymmetricKey.generate()
    let dataKey = SymmetricKey.generate()

    @Test func wrapUnwrapRoundTrip() throws {
        let wrapped = try KeyWrap.wrap(dataKey, masterKey: master, masterKeyID: "mk-2026.11")
        #expect(wrapped.count == 2 + "mk-2026.11".utf8.count + 12 + 32 + 16)
        #expect(try KeyWrap.masterKeyID(of: wrapped) == "mk-2026.11")
        #expect(try KeyWrap.unwrap(wrapped, masterKey: master, masterKeyID: "mk-2026.11") == dataKey)
        // The data key never appears in the clear.
        #expect(!wrapped.hexString.contains(dataKey.bytes.hexString))
    }

    @Test func wrongMasterKeyOrIDFails() throws {
        let wrapped = try KeyWrap.wrap(dataKey, masterKey: master, masterKeyID: "a")
        #expect(throws: CryptoError.authenticationFailure) {
            try KeyWrap.unwrap(wrapped, masterKey: SymmetricKey.generate(), masterKeyID: "a")
        }
        #expect(throws: CryptoError.unknownMasterKeyID("a")) {
            try KeyWrap.unwrap(wrapped, masterKey: master, masterKeyID: "b")
        }
    }

    @Test func relabelledIDFailsAuthentication() throws {
        // Changing the id in the header (same length) must not unwrap under the other id.
        var wrapped = try KeyWrap.wrap(dataKey, masterKey: master, masterKeyID: "a")
        wrapped[2] = UInt8(ascii: "b")
        #expect(try KeyWrap.masterKeyID(of: wrapped) == "b")
        #expect(throws: CryptoError.authenticationFailure) {
            try KeyWrap.unwrap(wrapped, masterKey: master, masterKeyID: "b")
        }
    }

    @Test func malformedWrappedKeysAreRejected() throws {
        let wrapped = try KeyWrap.wrap(dataKey, masterKey: master, masterKeyID: "a")
        var badVersion = wrapped
        badVersion[0] = 2
        #expect(throws: CryptoError.self) { try KeyWrap.masterKeyID(of: badVersion) }
        #expect(throws: CryptoError.self) { try KeyWrap.masterKeyID(of: Array(wrapped.dropLast())) }
        #expect(throws: CryptoError.self) { try KeyWrap.masterKeyID(of: []) }
        var badID = wrapped
        badID[2] = UInt8(ascii: ":")
        #expect(throws: CryptoError.self) { try KeyWrap.masterKeyID(of: badID) }
    }

    @Test func invalidMasterKeyIDsCannotWrap() {
        #expect(throws: CryptoError.self) { try KeyWrap.wrap(dataKey, masterKey: master, masterKeyID: "") }
        #expect(throws: CryptoError.self) { try KeyWrap.wrap(dataKey, masterKey: master, masterKeyID: "has space") }
        #expect(throws: CryptoError.self) {
            try KeyWrap.wrap(dataKey, masterKey: master, masterKeyID: String(repeating: "x", count: 65))
        }
        #expect(KeyWrap.isValidMasterKeyID(String(repeating: "x", count: 64)))
    }
}

@Suite struct MasterKeyringTests {
    let oldKey = SymmetricKey.generate()
    let newKey = SymmetricKey.generate()

    func entry(_ id: String, _ key: SymmetricKey) -> String { "\(id):\(Base64.encode(key.bytes))" }

    @Test func parsesEntriesFirstIsActive() throws {
        let ring = try MasterKeyring(configuration: " \(entry("2026-11", newKey)) ,\n\(entry("2026-05", oldKey))\n")
        #expect(ring.activeID == "2026-11")
        #expect(ring.ids == ["2026-11", "2026-05"])
        #expect(ring.key(id: "2026-05") == oldKey)
        #expect(ring.activeKey == newKey)
        #expect(ring.key(id: "nope") == nil)
        #expect(!"\(ring)".contains(Base64.encode(newKey.bytes)))
    }

    @Test func rotationOldKeyStillUnwrapsAndRewrapMovesToActive() throws {
        let before = try MasterKeyring(configuration: entry("old", oldKey))
        let dataKey = SymmetricKey.generate()
        let wrappedOld = before.wrap(dataKey)
        #expect(try KeyWrap.masterKeyID(of: wrappedOld) == "old")

        let after = try MasterKeyring(configuration: entry("new", newKey) + "," + entry("old", oldKey))
        #expect(try after.unwrap(wrappedOld) == dataKey)
        #expect(try after.needsRewrap(wrappedOld))

        let rewrapped = try after.rewrap(wrappedOld)
        #expect(try KeyWrap.masterKeyID(of: rewrapped) == "new")
        #expect(try !after.needsRewrap(rewrapped))
        #expect(try after.unwrap(rewrapped) == dataKey)

        // Once the old key is dropped, only the rewrapped copy still opens.
        let final = try MasterKeyring(configuration: entry("new", newKey))
        #expect(try final.unwrap(rewrapped) == dataKey)
        #expect(throws: CryptoError.unknownMasterKeyID("old")) { try final.unwrap(wrappedOld) }
        // The wrong key under a reused id fails authentication.
        let impostor = try MasterKeyring(configuration: entry("old", newKey))
        #expect(throws: CryptoError.authenticationFailure) { try impostor.unwrap(wrappedOld) }
    }

    @Test func entriesInitializer() throws {
        let ring = try MasterKeyring(entries: [(id: "b", key: newKey), (id: "a", key: oldKey)])
        #expect(ring.activeID == "b")
        #expect(throws: MasterKeyringError.duplicateID("a")) {
            try MasterKeyring(entries: [(id: "a", key: newKey), (id: "a", key: oldKey)])
        }
        #expect(throws: MasterKeyringError.empty) { try MasterKeyring(entries: []) }
    }

    @Test func generatedEntryParses() throws {
        let ring = try MasterKeyring(configuration: MasterKeyring.generateEntry(id: "k1"))
        #expect(ring.activeID == "k1")
    }

    @Test(arguments: [
        ("", MasterKeyringError.empty),
        ("  \n", .empty),
        ("a:KEY,", .emptyEntry(position: 2)),
        ("a:KEY,,b:KEY", .emptyEntry(position: 2)),
        ("SECRETSECRET", .missingSeparator(position: 1)),
        ("a:KEY,SECRETSECRET", .missingSeparator(position: 2)),
        (":KEY", .invalidID(position: 1)),
        ("bad id:KEY", .invalidID(position: 1)),
        ("a:KEY,a:KEY", .duplicateID("a")),
        ("a:not*base64!", .invalidBase64(id: "a")),
        ("a:c2hvcnQ=", .wrongKeyLength(id: "a", byteCount: 5)),
    ])
    func parseErrors(configuration: String, expected: MasterKeyringError) throws {
        let key = Base64.encode(oldKey.bytes)
        let text = configuration.replacingOccurrences(of: "KEY", with: key)
        do {
            _ = try MasterKeyring(configuration: text)
            Issue.record("expected \(expected)")
        } catch {
            #expect(error == expected)
            #expect(!error.description.contains(key))
            #expect(!error.description.contains("SECRET"))
            #expect(!error.description.contains("c2hvcnQ"))
            #expect(!error.description.contains("base64!"))
        }
    }
}
