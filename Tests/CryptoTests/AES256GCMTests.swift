import Testing

@testable import Crypto

@Suite struct AES256GCMTests {
    let key = SymmetricKey.generate()
    let plaintext = Array(#"{"event":"delivered","customer":"c_123"}"#.utf8)
    let aad = Array("tenant-42/stream-7".utf8)

    /// GCM specification test case 16 (AES-256, 60-byte plaintext, 20-byte AAD).
    @Test func knownAnswerWithFixedNonce() throws {
        let key = try #require([UInt8](hexString: "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308"))
        let plaintext = try #require([UInt8](hexString:
            "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39"))
        let aad = try #require([UInt8](hexString: "feedfacedeadbeeffeedfacedeadbeefabaddad2"))
        let nonce = try #require([UInt8](hexString: "cafebabefacedbaddecaf888"))
        let ciphertext = "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662"
        let tag = "76fc6ece0f4e1768cddf8853bb2d551b"

        let sealed = try nonce.withUnsafeBytes { try AES256GCM.seal(plaintext, key: key, nonce: $0, aad: aad) }
        #expect(sealed.hexString == "cafebabefacedbaddecaf888" + ciphertext + tag)
        #expect(try AES256GCM.open(sealed, key: key, authenticating: aad) == plaintext)
    }

    /// GCM specification test case 14 (zero key, zero nonce, one zero block, no AAD).
    @Test func knownAnswerZeroKey() throws {
        let sealed = try [UInt8](repeating: 0, count: 12).withUnsafeBytes {
            try AES256GCM.seal([UInt8](repeating: 0, count: 16), key: [UInt8](repeating: 0, count: 32), nonce: $0, aad: [])
        }
        #expect(sealed.hexString == String(repeating: "00", count: 12) + "cea7403d4d606b6e074ec5d3baf39d18" + "d0d1c8a799996bf0265b98b5d48ab919")
    }

    @Test func roundTripWithRandomNonce() throws {
        let sealed = try AES256GCM.seal(plaintext, key: key, authenticating: aad)
        #expect(sealed.count == plaintext.count + AES256GCM.overhead)
        #expect(try AES256GCM.open(sealed, key: key, authenticating: aad) == plaintext)
        let again = try AES256GCM.seal(plaintext, key: key, authenticating: aad)
        #expect(again != sealed, "fresh nonce each time")
        #expect(Array(again.prefix(12)) != Array(sealed.prefix(12)))
    }

    @Test func roundTripEmptyPlaintextAndRawKeyBytes() throws {
        let raw = SecureRandom.bytes(32)
        let sealed = try AES256GCM.seal([], key: raw)
        #expect(sealed.count == AES256GCM.overhead)
        #expect(try AES256GCM.open(sealed, key: raw) == [])
        #expect(throws: CryptoError.authenticationFailure) { try AES256GCM.open(sealed, key: raw, authenticating: [1]) }
    }

    @Test func everyTamperedByteFails() throws {
        let sealed = try AES256GCM.seal(plaintext, key: key, authenticating: aad)
        // Flip one bit in the nonce, in the ciphertext, and in the tag, and each position in turn.
        for index in sealed.indices {
            var tampered = sealed
            tampered[index] ^= 0x01
            #expect(throws: CryptoError.authenticationFailure) {
                try AES256GCM.open(tampered, key: key, authenticating: aad)
            }
        }
    }

    @Test func wrongKeyOrAADFails() throws {
        let sealed = try AES256GCM.seal(plaintext, key: key, authenticating: aad)
        #expect(throws: CryptoError.authenticationFailure) {
            try AES256GCM.open(sealed, key: SymmetricKey.generate(), authenticating: aad)
        }
        #expect(throws: CryptoError.authenticationFailure) {
            try AES256GCM.open(sealed, key: key, authenticating: Array("tenant-43/stream-7".utf8))
        }
        #expect(throws: CryptoError.authenticationFailure) {
            try AES256GCM.open(sealed, key: key)
        }
    }

    @Test func truncatedOrExtendedBoxFails() throws {
        let sealed = try AES256GCM.seal(plaintext, key: key, authenticating: aad)
        #expect(throws: CryptoError.authenticationFailure) {
            try AES256GCM.open(Array(sealed.dropLast()), key: key, authenticating: aad)
        }
        #expect(throws: CryptoError.authenticationFailure) {
            try AES256GCM.open(sealed + [0], key: key, authenticating: aad)
        }
        #expect(throws: CryptoError.self) { try AES256GCM.open(Array(sealed.prefix(27)), key: key, authenticating: aad) }
    }

    @Test func rejectsWrongKeyLengthWithoutLeakingIt() {
        let shortKey = [UInt8](repeating: 0x41, count: 16)
        do {
            _ = try AES256GCM.seal(plaintext, key: shortKey)
            Issue.record("expected an error")
        } catch {
            #expect(error == .invalidKeyLength(expected: 32, actual: 16))
            #expect(!error.description.contains("AAAA"))
            #expect(!error.description.contains("65"))
        }
    }

    @Test func symmetricKeyDescriptionIsRedacted() throws {
        let key = try SymmetricKey(bytes: [UInt8](repeating: 0xab, count: 32))
        #expect(!"\(key)".contains("ab"))
        #expect(!String(reflecting: key).contains("171"))
        #expect(key == (try SymmetricKey(bytes: [UInt8](repeating: 0xab, count: 32))))
        #expect(key != SymmetricKey.generate())
    }
}

@Suite struct NoncePoolTests {
    /// Nonces drawn concurrently, across many pool refills, never repeat.
    @Test func concurrentNoncesAreDistinct() async {
        let batches = await withTaskGroup(of: [[UInt8]].self) { group in
            for _ in 0..<4 {
                group.addTask {
                    (0..<2_000).map { _ in
                        [UInt8](unsafeUninitializedCapacity: 12) { buffer, count in
                            NoncePool.fill(UnsafeMutableRawBufferPointer(buffer))
                            count = 12
                        }
                    }
                }
            }
            return await group.reduce(into: [[UInt8]]()) { $0 += $1 }
        }
        #expect(batches.count == 8_000)
        #expect(Set(batches).count == 8_000)
        #expect(!batches.contains([UInt8](repeating: 0, count: 12)))
    }
}
