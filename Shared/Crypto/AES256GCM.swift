import CCrypto

/// AES-256-GCM authenticated encryption from libcrypto (`EVP_CIPHER_CTX`).
///
/// A sealed box is `nonce (12 bytes) || ciphertext || tag (16 bytes)`, with a fresh random
/// nonce per seal. Random 96-bit nonces are safe for up to about 2^32 seals under one key;
/// use per-tenant or rotated data keys well below that.
public enum AES256GCM {
    /// Nonce length in bytes.
    public static let nonceByteCount = 12
    /// Authentication tag length in bytes.
    public static let tagByteCount = 16
    /// Bytes a sealed box adds to its plaintext.
    public static let overhead = nonceByteCount + tagByteCount

    /// Encrypts and authenticates `plaintext`, also authenticating (not encrypting) `aad`.
    ///
    /// - Returns: `nonce || ciphertext || tag`.
    public static func seal(
        _ plaintext: [UInt8], key: SymmetricKey, authenticating aad: [UInt8] = []
    ) throws(CryptoError) -> [UInt8] {
        var nonce: (UInt64, UInt32) = (0, 0)
        withUnsafeMutableBytes(of: &nonce) { NoncePool.fill($0) }
        return try withUnsafeBytes(of: &nonce) { nonceBytes throws(CryptoError) in
            try seal(plaintext, key: key.bytes, nonce: nonceBytes, aad: aad)
        }
    }

    /// ``seal(_:key:authenticating:)-(_,SymmetricKey,_)`` with raw key bytes, which must be 32.
    public static func seal(
        _ plaintext: [UInt8], key: [UInt8], authenticating aad: [UInt8] = []
    ) throws(CryptoError) -> [UInt8] {
        try seal(plaintext, key: SymmetricKey(bytes: key), authenticating: aad)
    }

    /// Verifies and decrypts a sealed box made by `seal`.
    ///
    /// Throws ``CryptoError/authenticationFailure`` if any byte was changed or the key or `aad`
    /// differs, and ``CryptoError/malformedInput(_:)`` if it is too short to be a sealed box.
    public static func open(
        _ sealed: [UInt8], key: SymmetricKey, authenticating aad: [UInt8] = []
    ) throws(CryptoError) -> [UInt8] {
        try open(sealed, key: key.bytes, aad: aad)
    }

    /// ``open(_:key:authenticating:)-(_,SymmetricKey,_)`` with raw key bytes, which must be 32.
    public static func open(
        _ sealed: [UInt8], key: [UInt8], authenticating aad: [UInt8] = []
    ) throws(CryptoError) -> [UInt8] {
        try open(sealed, key: SymmetricKey(bytes: key), authenticating: aad)
    }

    // MARK: - libcrypto calls

    /// Seals with a caller-chosen nonce. Internal: only tests (known-answer vectors) pick nonces.
    static func seal(
        _ plaintext: [UInt8], key: [UInt8], nonce: UnsafeRawBufferPointer, aad: [UInt8]
    ) throws(CryptoError) -> [UInt8] {
        precondition(key.count == SymmetricKey.byteCount && nonce.count == nonceByteCount)
        guard plaintext.count <= Int(Int32.max) - overhead, aad.count <= Int(Int32.max) else {
            throw .malformedInput("plaintext or associated data too large")
        }
        guard let ctx = EVP_CIPHER_CTX_new() else { throw .libcryptoFailure("EVP_CIPHER_CTX_new") }
        defer { EVP_CIPHER_CTX_free(ctx) }

        let total = plaintext.count + overhead
        do {
            return try [UInt8](unsafeUninitializedCapacity: total) { out, initialized throws(CryptoError) in
                let base = out.baseAddress!
                UnsafeMutableRawBufferPointer(start: base, count: nonceByteCount).copyMemory(from: nonce)
                let ok = key.withUnsafeBufferPointer { keyBytes in
                    EVP_EncryptInit_ex2(
                        ctx, LibCrypto.aes256GCM.pointer, keyBytes.baseAddress,
                        base, nil) == 1
                }
                guard ok else { throw .libcryptoFailure("AES-GCM encrypt init") }
                try absorb(aad: aad, ctx)
                var written: Int32 = 0
                let body = base + nonceByteCount
                if !plaintext.isEmpty {
                    let updated = plaintext.withUnsafeBufferPointer {
                        EVP_EncryptUpdate(ctx, body, &written, $0.baseAddress, Int32($0.count)) == 1
                    }
                    guard updated, Int(written) == plaintext.count else {
                        throw .libcryptoFailure("AES-GCM encrypt")
                    }
                }
                var finalWritten: Int32 = 0
                guard EVP_EncryptFinal_ex(ctx, body + plaintext.count, &finalWritten) == 1, finalWritten == 0,
                    EVP_CIPHER_CTX_ctrl(
                        ctx, EVP_CTRL_AEAD_GET_TAG, Int32(tagByteCount), body + plaintext.count) == 1
                else { throw .libcryptoFailure("AES-GCM encrypt final") }
                initialized = total
            }
        } catch {
            LibCrypto.clearErrors()
            throw error
        }
    }

    private static func open(_ sealed: [UInt8], key: [UInt8], aad: [UInt8]) throws(CryptoError) -> [UInt8] {
        guard sealed.count >= overhead else {
            throw .malformedInput("sealed box shorter than nonce and tag")
        }
        guard sealed.count <= Int(Int32.max), aad.count <= Int(Int32.max) else {
            throw .malformedInput("sealed box or associated data too large")
        }
        guard let ctx = EVP_CIPHER_CTX_new() else { throw .libcryptoFailure("EVP_CIPHER_CTX_new") }
        defer { EVP_CIPHER_CTX_free(ctx) }

        let count = sealed.count - overhead
        do {
            return try sealed.withUnsafeBufferPointer { input throws(CryptoError) in
                let nonce = input.baseAddress!
                let ciphertext = nonce + nonceByteCount
                var tag = Array(input[(nonceByteCount + count)...])
                let ok = key.withUnsafeBufferPointer { keyBytes in
                    EVP_DecryptInit_ex2(ctx, LibCrypto.aes256GCM.pointer, keyBytes.baseAddress, nonce, nil) == 1
                }
                guard ok else { throw .libcryptoFailure("AES-GCM decrypt init") }
                try absorb(aad: aad, ctx)
                return try [UInt8](unsafeUninitializedCapacity: count) { out, initialized throws(CryptoError) in
                    var written: Int32 = 0
                    if count > 0 {
                        guard EVP_DecryptUpdate(ctx, out.baseAddress, &written, ciphertext, Int32(count)) == 1,
                            Int(written) == count
                        else { throw .libcryptoFailure("AES-GCM decrypt") }
                    }
                    guard EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, Int32(tagByteCount), &tag) == 1 else {
                        throw .libcryptoFailure("AES-GCM set tag")
                    }
                    var finalWritten: Int32 = 0
                    // Pass a valid pointer even for empty plaintext; GCM writes nothing here.
                    var scratch: UInt8 = 0
                    let verified = count > 0
                        ? EVP_DecryptFinal_ex(ctx, out.baseAddress! + count, &finalWritten)
                        : EVP_DecryptFinal_ex(ctx, &scratch, &finalWritten)
                    guard verified > 0 else {
                        // Do not hand back unauthenticated plaintext, even by accident.
                        if count > 0 { out.baseAddress!.initialize(repeating: 0, count: count) }
                        throw .authenticationFailure
                    }
                    initialized = count
                }
            }
        } catch {
            LibCrypto.clearErrors()
            throw error
        }
    }

    private static func absorb(aad: [UInt8], _ ctx: OpaquePointer) throws(CryptoError) {
        guard !aad.isEmpty else { return }
        var ignored: Int32 = 0
        let ok = aad.withUnsafeBufferPointer {
            EVP_CipherUpdate(ctx, nil, &ignored, $0.baseAddress, Int32($0.count)) == 1
        }
        guard ok else { throw .libcryptoFailure("AES-GCM associated data") }
    }
}
