import CCrypto

/// A throwaway RSA-2048 key with a self-signed certificate, made with libcrypto, so tests can
/// play the part of Amazon SNS: sign messages, and serve ``certificatePEM`` as the signing
/// certificate. Not for production use.
public struct RSATestAuthority: Sendable {
    /// The self-signed certificate in PEM form.
    public let certificatePEM: String
    /// The parsed certificate.
    public let certificate: X509Certificate
    private let key: PKey

    /// Generates a key pair and a self-signed certificate for `commonName`, valid from a minute
    /// ago for `validDays` days. Takes tens to hundreds of milliseconds (RSA key generation).
    public static func generate(commonName: String = "sns.amazonaws.com", validDays: Int = 365) -> RSATestAuthority {
        let key = PKey.generate(algorithm: "RSA") { EVP_PKEY_CTX_set_rsa_keygen_bits($0, 2048) }
        let pem = selfSignedCertificatePEM(key: key, commonName: commonName, validDays: validDays)
        do {
            return RSATestAuthority(certificatePEM: pem, certificate: try X509Certificate(pem: pem), key: key)
        } catch {
            fatalError("generated certificate does not parse: \(error)")
        }
    }

    /// An RSA PKCS#1 v1.5 signature of `message` hashed with `digest`.
    public func sign(_ message: some Collection<UInt8>, digest: RSASignatureDigest) -> [UInt8] {
        key.sign(message: message, digest: digest.evp)
    }

    private static func selfSignedCertificatePEM(key: PKey, commonName: String, validDays: Int) -> String {
        guard let certificate = X509_new() else { fatalError("libcrypto could not allocate a certificate") }
        defer { X509_free(certificate) }
        let serial = Int(UInt64.random(in: 1...UInt64(Int64.max)))
        let name = X509_get_subject_name(certificate)
        guard X509_set_version(certificate, 2) == 1,  // v3
            ASN1_INTEGER_set(X509_get_serialNumber(certificate), serial) == 1,
            X509_gmtime_adj(X509_getm_notBefore(certificate), -60) != nil,
            X509_gmtime_adj(X509_getm_notAfter(certificate), validDays * 86_400) != nil,
            X509_set_pubkey(certificate, key.pointer) == 1,
            X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, commonName, -1, -1, 0) == 1,
            X509_set_issuer_name(certificate, name) == 1,
            X509_sign(certificate, key.pointer, EVP_sha256()) > 0
        else {
            fatalError("libcrypto could not build a self-signed certificate")
        }
        guard let bio = BIO_new(BIO_s_mem()) else { fatalError("libcrypto could not allocate a BIO") }
        defer { BIO_free(bio) }
        guard PEM_write_bio_X509(bio, certificate) == 1 else { fatalError("libcrypto could not write PEM") }
        let length = Int(BIO_ctrl_pending(bio))
        var bytes = [UInt8](repeating: 0, count: length)
        guard BIO_read(bio, &bytes, Int32(length)) == Int32(length) else { fatalError("libcrypto BIO read failed") }
        return String(decoding: bytes, as: UTF8.self)
    }
}
