import Foundation
import Testing

@testable import Crypto

@Suite struct X509CertificateTests {
    @Test func parsesExternalCertificate() throws {
        let certificate = try X509Certificate(pem: RSAFixture.certificatePEM)
        #expect(certificate.subjectCommonName == "sns.us-east-1.amazonaws.com")
        #expect(certificate.issuerCommonName == "sns.us-east-1.amazonaws.com")
        #expect(certificate.notBefore == Date(timeIntervalSince1970: 1_795_313_391))
        #expect(certificate.notAfter == Date(timeIntervalSince1970: 2_110_673_391))
        #expect(certificate.isValid(at: Date(timeIntervalSince1970: 1_900_000_000)))
        #expect(!certificate.isValid(at: Date(timeIntervalSince1970: 1_700_000_000)))
        #expect(!certificate.isValid(at: Date(timeIntervalSince1970: 2_200_000_000)))
    }

    @Test func verifiesExternalSignaturesForBothSignatureVersions() throws {
        let certificate = try X509Certificate(pem: RSAFixture.certificatePEM)
        let message = Array(RSAFixture.message.utf8)
        let sha1 = try #require(Base64.decode(RSAFixture.sha1SignatureBase64))
        let sha256 = try #require(Base64.decode(RSAFixture.sha256SignatureBase64))
        #expect(certificate.isValidRSASignature(sha1, for: message, digest: .sha1))
        #expect(certificate.isValidRSASignature(sha256, for: message, digest: .sha256))
        // A signature is only valid with the digest it was made with.
        #expect(!certificate.isValidRSASignature(sha1, for: message, digest: .sha256))
        #expect(!certificate.isValidRSASignature(sha256, for: message, digest: .sha1))
        #expect(!certificate.isValidRSASignature(sha256, for: message + [0x0a], digest: .sha256))
    }

    @Test func snsSignatureVersions() {
        #expect(RSASignatureDigest(snsSignatureVersion: "1") == .sha1)
        #expect(RSASignatureDigest(snsSignatureVersion: "2") == .sha256)
        #expect(RSASignatureDigest(snsSignatureVersion: "3") == nil)
        #expect(RSASignatureDigest(snsSignatureVersion: "") == nil)
    }

    @Test func malformedPEMThrows() {
        #expect(throws: CryptoError.self) { try X509Certificate(pem: "") }
        #expect(throws: CryptoError.self) { try X509Certificate(pem: "hello") }
        let broken = RSAFixture.certificatePEM.replacingOccurrences(of: "MIIDLTCC", with: "MIIDLTCD")
        #expect(throws: CryptoError.self) { try X509Certificate(pem: broken) }
        let truncated = String(RSAFixture.certificatePEM.prefix(400)) + "\n-----END CERTIFICATE-----\n"
        #expect(throws: CryptoError.self) { try X509Certificate(pem: truncated) }
        #expect(throws: CryptoError.self) { try X509Certificate(der: SecureRandom.bytes(100)) }
    }

    @Test func parsesDERForm() throws {
        let body = RSAFixture.certificatePEM
            .split(separator: "\n")
            .filter { !$0.hasPrefix("-----") }
            .joined()
        let der = try #require(Base64.decode(body))
        let certificate = try X509Certificate(der: der)
        #expect(certificate.subjectCommonName == "sns.us-east-1.amazonaws.com")
    }
}

@Suite struct RSATestAuthorityTests {
    let message = Array(#"Message\nhello\nMessageId\n1\nTimestamp\n2026-11-22T00:00:00.000Z\nType\nNotification\n"#.utf8)

    @Test(arguments: [RSASignatureDigest.sha1, .sha256])
    func signAndVerify(digest: RSASignatureDigest) throws {
        let authority = RSAFixtures.authority
        let certificate = try X509Certificate(pem: authority.certificatePEM)
        #expect(certificate.subjectCommonName == "sns.us-east-1.amazonaws.com")
        #expect(certificate.isValid())
        let signature = authority.sign(message, digest: digest)
        #expect(signature.count == 256)
        #expect(certificate.isValidRSASignature(signature, for: message, digest: digest))
    }

    @Test(arguments: [RSASignatureDigest.sha1, .sha256])
    func forgedOrMismatchedSignaturesFail(digest: RSASignatureDigest) throws {
        let certificate = try X509Certificate(pem: RSAFixtures.authority.certificatePEM)
        let signature = RSAFixtures.authority.sign(message, digest: digest)
        var forged = signature
        forged[100] ^= 0x80
        #expect(!certificate.isValidRSASignature(forged, for: message, digest: digest))
        #expect(!certificate.isValidRSASignature(SecureRandom.bytes(256), for: message, digest: digest))
        #expect(!certificate.isValidRSASignature([], for: message, digest: digest))
        #expect(!certificate.isValidRSASignature(Array(signature.dropLast()), for: message, digest: digest))
        #expect(!certificate.isValidRSASignature(signature, for: message.dropLast(), digest: digest))
        // Signed by another key: the certificate it is checked against does not match.
        let attackerSignature = RSAFixtures.otherAuthority.sign(message, digest: digest)
        #expect(!certificate.isValidRSASignature(attackerSignature, for: message, digest: digest))
        #expect(RSAFixtures.otherAuthority.certificate.isValidRSASignature(attackerSignature, for: message, digest: digest))
        #expect(!RSAFixtures.otherAuthority.certificate.isValidRSASignature(signature, for: message, digest: digest))
    }

    @Test func ecdsaSignatureIsNotAcceptedAsRSA() throws {
        let ecKey = ECDSAP256.PrivateKey.generate()
        let signature = ecKey.sign(message)
        #expect(!RSAFixtures.authority.certificate.isValidRSASignature(signature, for: message, digest: .sha256))
    }
}
