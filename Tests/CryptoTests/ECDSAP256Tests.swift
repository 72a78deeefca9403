import Testing

@testable import Crypto

@Suite struct ECDSAP256Tests {
    let privateKey = ECDSAP256.PrivateKey.generate()
    let message = Array(#"1600000000[{"email":"a@example.com","event":"delivered"}]"#.utf8)

    @Test func signAndVerifyThroughBase64PublicKey() throws {
        let signature = privateKey.sign(message)
        let publicKey = try ECDSAP256.PublicKey(derBase64: privateKey.publicKeyDERBase64)
        #expect(publicKey.isValidSignature(signature, for: message))
        #expect(publicKey.isValidSignature(base64: Base64.encode(signature), for: message))
        #expect(publicKey.der == Base64.decode(privateKey.publicKeyDERBase64))
        // DER ECDSA-Sig-Value: SEQUENCE of two INTEGERs.
        #expect(signature.first == 0x30)
    }

    @Test func rejectsWrongMessageKeyOrSignature() throws {
        let signature = privateKey.sign(message)
        let publicKey = privateKey.publicKey
        #expect(!publicKey.isValidSignature(signature, for: message + [0x20]))
        #expect(!publicKey.isValidSignature(signature, for: [UInt8]()))
        #expect(!ECDSAP256.PrivateKey.generate().publicKey.isValidSignature(signature, for: message))
        var flipped = signature
        flipped[flipped.count - 1] ^= 0x01
        #expect(!publicKey.isValidSignature(flipped, for: message))
    }

    @Test func malformedSignaturesAreInvalidNotFatal() {
        let publicKey = privateKey.publicKey
        let signature = privateKey.sign(message)
        #expect(!publicKey.isValidSignature([], for: message))
        #expect(!publicKey.isValidSignature([0x30, 0x00], for: message))
        #expect(!publicKey.isValidSignature(Array(signature.dropLast(3)), for: message))
        #expect(!publicKey.isValidSignature(signature + [0x00], for: message))
        #expect(!publicKey.isValidSignature(SecureRandom.bytes(72), for: message))
        #expect(!publicKey.isValidSignature(base64: "not base64!", for: message))
    }

    @Test func emptyMessageSignsAndVerifies() {
        let signature = privateKey.sign([UInt8]())
        #expect(privateKey.publicKey.isValidSignature(signature, for: [UInt8]()))
    }

    @Test func malformedPublicKeysThrow() throws {
        #expect(throws: CryptoError.self) { try ECDSAP256.PublicKey(derBase64: "not base64!") }
        #expect(throws: CryptoError.self) { try ECDSAP256.PublicKey(derBase64: "") }
        #expect(throws: CryptoError.self) { try ECDSAP256.PublicKey(der: SecureRandom.bytes(91)) }
        let der = try #require(Base64.decode(privateKey.publicKeyDERBase64))
        #expect(throws: CryptoError.self) { try ECDSAP256.PublicKey(der: Array(der.dropLast())) }
        #expect(throws: CryptoError.self) { try ECDSAP256.PublicKey(der: der + [0]) }
        // An RSA key is well-formed DER but the wrong algorithm.
        let rsaDER = RSAFixtures.authority.certificate.publicKey.publicKeyDER
        #expect(throws: CryptoError.unsupportedKey("public key is not an EC P-256 key")) {
            try ECDSAP256.PublicKey(der: rsaDER)
        }
    }

    /// A fixed key and signature produced by OpenSSL's command line, to check interoperability
    /// with signatures this module did not make.
    @Test func verifiesExternallyProducedSignature() throws {
        let publicKey = try ECDSAP256.PublicKey(derBase64: ECDSAFixture.publicKeyBase64)
        let message = Array(ECDSAFixture.message.utf8)
        #expect(publicKey.isValidSignature(base64: ECDSAFixture.signatureBase64, for: message))
        #expect(!publicKey.isValidSignature(base64: ECDSAFixture.signatureBase64, for: message.dropLast()))
    }
}
