import CCrypto
import Foundation

/// The hash in an RSA PKCS#1 v1.5 signature. Amazon SNS `SignatureVersion` 1 uses SHA-1 and
/// `SignatureVersion` 2 uses SHA-256.
public enum RSASignatureDigest: Sendable, Hashable {
    case sha1
    case sha256

    /// The digest for an Amazon SNS message's `SignatureVersion` (`"1"` is SHA-1, `"2"` is
    /// SHA-256); nil for any other value, which callers should reject.
    public init?(snsSignatureVersion version: String) {
        switch version {
        case "1": self = .sha1
        case "2": self = .sha256
        default: return nil
        }
    }

    var evp: OpaquePointer? {
        switch self {
        case .sha1: return EVP_sha1()
        case .sha256: return EVP_sha256()
        }
    }
}

/// An X.509 certificate parsed with libcrypto, reduced to what signature checks need: its
/// public key, subject and issuer common names and validity period.
///
/// This does NOT validate a chain of trust; callers (e.g. the SNS handler) must only accept
/// certificates fetched over HTTPS from a trusted host.
public struct X509Certificate: Sendable {
    /// The subject's common name (CN), if present.
    public let subjectCommonName: String?
    /// The issuer's common name (CN), if present.
    public let issuerCommonName: String?
    /// Start of the validity period.
    public let notBefore: Date
    /// End of the validity period.
    public let notAfter: Date
    let publicKey: PKey

    /// Parses the first certificate in PEM text (`-----BEGIN CERTIFICATE-----`).
    public init(pem: String) throws(CryptoError) {
        let bytes = Array(pem.utf8)
        guard !bytes.isEmpty, bytes.count <= Int(Int32.max) else {
            throw .invalidEncoding("certificate PEM is empty or too large")
        }
        let certificate: OpaquePointer? = bytes.withUnsafeBytes { raw in
            guard let bio = BIO_new_mem_buf(raw.baseAddress, Int32(raw.count)) else { return nil }
            defer { BIO_free(bio) }
            return PEM_read_bio_X509(bio, nil, nil, nil)
        }
        guard let certificate else {
            LibCrypto.clearErrors()
            throw .invalidEncoding("text does not contain a PEM certificate")
        }
        defer { X509_free(certificate) }
        try self.init(certificate)
    }

    /// Parses a DER-encoded certificate.
    public init(der: [UInt8]) throws(CryptoError) {
        guard !der.isEmpty, der.count <= Int(Int32.max) else {
            throw .invalidEncoding("certificate DER is empty or too large")
        }
        let certificate: OpaquePointer? = der.withUnsafeBufferPointer { buffer in
            var cursor: UnsafePointer<UInt8>? = buffer.baseAddress
            return d2i_X509(nil, &cursor, buffer.count)
        }
        guard let certificate else {
            LibCrypto.clearErrors()
            throw .invalidEncoding("bytes are not a DER certificate")
        }
        defer { X509_free(certificate) }
        try self.init(certificate)
    }

    private init(_ certificate: OpaquePointer) throws(CryptoError) {
        guard let key = X509_get_pubkey(certificate) else {
            LibCrypto.clearErrors()
            throw .invalidEncoding("certificate public key cannot be decoded")
        }
        publicKey = PKey(taking: key)
        subjectCommonName = Self.commonName(X509_get_subject_name(certificate))
        issuerCommonName = Self.commonName(X509_get_issuer_name(certificate))
        guard let start = Self.date(X509_get0_notBefore(certificate)),
            let end = Self.date(X509_get0_notAfter(certificate))
        else {
            throw .invalidEncoding("certificate validity period cannot be decoded")
        }
        notBefore = start
        notAfter = end
    }

    /// True when `date` lies within the validity period.
    public func isValid(at date: Date = Date()) -> Bool {
        notBefore <= date && date <= notAfter
    }

    /// True when `signature` is a valid RSA PKCS#1 v1.5 signature of `message` hashed with
    /// `digest`, under this certificate's public key. False for non-RSA keys and any mismatch.
    public func isValidRSASignature(
        _ signature: [UInt8], for message: some Collection<UInt8>, digest: RSASignatureDigest
    ) -> Bool {
        guard publicKey.baseID == EVP_PKEY_RSA else { return false }
        return publicKey.verify(signature: signature, message: message, digest: digest.evp)
    }

    // MARK: - libcrypto decoding

    private static func commonName(_ name: OpaquePointer?) -> String? {
        guard let name else { return nil }
        let index = X509_NAME_get_index_by_NID(name, NID_commonName, -1)
        guard index >= 0, let entry = X509_NAME_get_entry(name, index),
            let data = X509_NAME_ENTRY_get_data(entry)
        else { return nil }
        var utf8: UnsafeMutablePointer<UInt8>?
        let length = ASN1_STRING_to_UTF8(&utf8, data)
        guard length >= 0, let utf8 else {
            LibCrypto.clearErrors()
            return nil
        }
        defer { CRYPTO_free(utf8, #file, #line) }
        return String(decoding: UnsafeBufferPointer(start: utf8, count: Int(length)), as: UTF8.self)
    }

    private static func date(_ time: UnsafePointer<ASN1_TIME>?) -> Date? {
        guard let time else { return nil }
        var parts = tm()
        guard ASN1_TIME_to_tm(time, &parts) == 1 else {
            LibCrypto.clearErrors()
            return nil
        }
        return Date(timeIntervalSince1970: TimeInterval(timegm(&parts)))
    }
}
