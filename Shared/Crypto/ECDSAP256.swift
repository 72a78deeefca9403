import CCrypto

/// ECDSA over NIST P-256 with SHA-256, as used by SendGrid's signed event webhook.
public enum ECDSAP256 {
    /// A P-256 public key for verifying signatures.
    public struct PublicKey: Sendable {
        let key: PKey

        /// Parses a DER `SubjectPublicKeyInfo`. Throws unless it is a well-formed P-256 key.
        public init(der: [UInt8]) throws(CryptoError) {
            guard let key = PKey.publicKey(der: der) else {
                throw .invalidEncoding("public key is not a DER SubjectPublicKeyInfo")
            }
            guard key.baseID == EVP_PKEY_EC, Self.isP256(key) else {
                throw .unsupportedKey("public key is not an EC P-256 key")
            }
            self.key = key
        }

        /// Parses base64 DER `SubjectPublicKeyInfo`, the form SendGrid shows as the webhook's
        /// verification key. Surrounding whitespace is ignored.
        public init(derBase64: String) throws(CryptoError) {
            guard let der = Base64.decode(derBase64.trimmingASCIIWhitespace()) else {
                throw .invalidEncoding("public key is not valid base64")
            }
            try self.init(der: der)
        }

        init(verified key: PKey) {
            self.key = key
        }

        /// The DER `SubjectPublicKeyInfo`.
        public var der: [UInt8] { key.publicKeyDER }

        /// True when `signature` (DER `ECDSA-Sig-Value`) is a valid signature of SHA-256(`message`).
        /// Malformed signatures are simply invalid.
        public func isValidSignature(_ signature: [UInt8], for message: some Collection<UInt8>) -> Bool {
            key.verify(signature: signature, message: message, digest: EVP_sha256())
        }

        /// ``isValidSignature(_:for:)`` with the signature in base64 (as in SendGrid's
        /// `X-Twilio-Email-Event-Webhook-Signature` header); false if it is not valid base64.
        public func isValidSignature(base64 signature: String, for message: some Collection<UInt8>) -> Bool {
            guard let bytes = Base64.decode(signature.trimmingASCIIWhitespace()) else { return false }
            return isValidSignature(bytes, for: message)
        }

        private static func isP256(_ key: PKey) -> Bool {
            var name = [CChar](repeating: 0, count: 64)
            var length = 0
            guard EVP_PKEY_get_group_name(key.pointer, &name, name.count, &length) == 1 else {
                LibCrypto.clearErrors()
                return false
            }
            let group = String(decoding: name[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            return group == "prime256v1" || group == "P-256" || group == "secp256r1"
        }
    }

    /// A P-256 private key, for tests and tools that need to produce webhook-style signatures.
    public struct PrivateKey: Sendable {
        let key: PKey

        /// A fresh random P-256 key pair.
        public static func generate() -> PrivateKey {
            PrivateKey(key: PKey.generate(algorithm: "EC") { EVP_PKEY_CTX_set_group_name($0, "P-256") })
        }

        /// The matching public key.
        public var publicKey: PublicKey { PublicKey(verified: key) }

        /// The public key as base64 DER `SubjectPublicKeyInfo` (SendGrid's display form).
        public var publicKeyDERBase64: String { Base64.encode(key.publicKeyDER) }

        /// Signs SHA-256(`message`); returns a DER `ECDSA-Sig-Value`.
        public func sign(_ message: some Collection<UInt8>) -> [UInt8] {
            key.sign(message: message, digest: EVP_sha256())
        }
    }
}
