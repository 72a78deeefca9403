import CCrypto

/// An owned libcrypto `EVP_PKEY` (public key, or private key with its public half).
///
/// `@unchecked Sendable` is safe: the key is never mutated after creation, and OpenSSL 3
/// supports concurrent signing and verification with one `EVP_PKEY`, as each operation here
/// uses its own `EVP_MD_CTX`.
final class PKey: @unchecked Sendable {
    let pointer: OpaquePointer

    init(taking pointer: OpaquePointer) {
        self.pointer = pointer
    }

    deinit {
        EVP_PKEY_free(pointer)
    }

    /// Parses a DER `SubjectPublicKeyInfo`; nil if it is malformed or has trailing bytes.
    static func publicKey(der: [UInt8]) -> PKey? {
        guard !der.isEmpty, der.count <= Int(Int32.max) else { return nil }
        return der.withUnsafeBufferPointer { buffer -> PKey? in
            var cursor: UnsafePointer<UInt8>? = buffer.baseAddress
            guard let key = d2i_PUBKEY(nil, &cursor, buffer.count) else {
                LibCrypto.clearErrors()
                return nil
            }
            let parsed = PKey(taking: key)
            guard let end = cursor, end - buffer.baseAddress! == buffer.count else { return nil }
            return parsed
        }
    }

    /// Generates a key with `EVP_PKEY_CTX` for `algorithm`, after `configure` sets parameters.
    static func generate(algorithm: String, configure: (OpaquePointer) -> Int32) -> PKey {
        guard let ctx = EVP_PKEY_CTX_new_from_name(nil, algorithm, nil) else {
            fatalError("libcrypto does not provide \(algorithm) keys")
        }
        defer { EVP_PKEY_CTX_free(ctx) }
        var key: OpaquePointer?
        guard EVP_PKEY_keygen_init(ctx) == 1, configure(ctx) == 1, EVP_PKEY_generate(ctx, &key) == 1,
            let key
        else {
            fatalError("libcrypto \(algorithm) key generation failed")
        }
        return PKey(taking: key)
    }

    /// The libcrypto key type (`EVP_PKEY_EC`, `EVP_PKEY_RSA`, ...).
    var baseID: Int32 { EVP_PKEY_get_base_id(pointer) }

    /// The DER `SubjectPublicKeyInfo` of the public half.
    var publicKeyDER: [UInt8] {
        var out: UnsafeMutablePointer<UInt8>?
        let length = i2d_PUBKEY(pointer, &out)
        guard length > 0, let out else { fatalError("libcrypto could not encode a public key") }
        defer { CRYPTO_free(out, #file, #line) }
        return Array(UnsafeBufferPointer(start: out, count: Int(length)))
    }

    /// Verifies `signature` over `message` hashed with `digest`, with the key's default padding
    /// (PKCS#1 v1.5 for RSA, DER ECDSA for EC). False on any mismatch or malformed input.
    func verify(signature: [UInt8], message: some Collection<UInt8>, digest: OpaquePointer?) -> Bool {
        guard !signature.isEmpty, let ctx = EVP_MD_CTX_new() else { return false }
        defer {
            EVP_MD_CTX_free(ctx)
            LibCrypto.clearErrors()
        }
        guard EVP_DigestVerifyInit(ctx, nil, digest, nil, pointer) == 1 else { return false }
        return message.withContiguousBytes { input in
            signature.withUnsafeBufferPointer { sig in
                var empty: UInt8 = 0
                return withUnsafePointer(to: &empty) { emptyPointer in
                    EVP_DigestVerify(
                        ctx, sig.baseAddress, sig.count, input.baseAddress ?? emptyPointer, input.count) == 1
                }
            }
        }
    }

    /// Signs `message` hashed with `digest` (private keys only).
    func sign(message: some Collection<UInt8>, digest: OpaquePointer?) -> [UInt8] {
        guard let ctx = EVP_MD_CTX_new() else { fatalError("libcrypto could not allocate a digest context") }
        defer { EVP_MD_CTX_free(ctx) }
        guard EVP_DigestSignInit(ctx, nil, digest, nil, pointer) == 1 else {
            fatalError("libcrypto signing initialisation failed")
        }
        return message.withContiguousBytes { input in
            var empty: UInt8 = 0
            return withUnsafePointer(to: &empty) { emptyPointer in
                let data = input.baseAddress ?? emptyPointer
                var length = 0
                guard EVP_DigestSign(ctx, nil, &length, data, input.count) == 1 else {
                    fatalError("libcrypto signing failed")
                }
                var signature = [UInt8](repeating: 0, count: length)
                guard EVP_DigestSign(ctx, &signature, &length, data, input.count) == 1 else {
                    fatalError("libcrypto signing failed")
                }
                signature.removeSubrange(length...)
                return signature
            }
        }
    }
}
