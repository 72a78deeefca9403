import CCrypto

/// A libcrypto object pointer that may be shared across threads.
///
/// `@unchecked Sendable` is safe because it only ever wraps fetched algorithm descriptors
/// (`EVP_CIPHER`, `EVP_MAC`, `EVP_MD`), which OpenSSL 3 documents as immutable and safe for concurrent use
/// once fetched; they are fetched once and never freed.
struct SharedAlgorithm: @unchecked Sendable {
    let pointer: OpaquePointer
}

/// Process-wide libcrypto handles and small internal helpers.
enum LibCrypto {
    /// `AES-256-GCM`, fetched once so that per-call contexts skip the implicit fetch.
    static let aes256GCM: SharedAlgorithm = {
        guard let cipher = EVP_CIPHER_fetch(nil, "AES-256-GCM", nil) else {
            fatalError("libcrypto does not provide AES-256-GCM")
        }
        return SharedAlgorithm(pointer: cipher)
    }()

    /// `SHA256`, fetched once (the `SHA256()` one-shot fetches on every call).
    static let sha256: SharedAlgorithm = fetchDigest("SHA256")

    /// `SHA1`, fetched once.
    static let sha1: SharedAlgorithm = fetchDigest("SHA1")

    private static func fetchDigest(_ name: String) -> SharedAlgorithm {
        guard let digest = EVP_MD_fetch(nil, name, nil) else {
            fatalError("libcrypto does not provide \(name)")
        }
        return SharedAlgorithm(pointer: digest)
    }

    /// One-shot digest of `input` with a fetched `EVP_MD` into a new array of `count` bytes.
    static func digest(_ algorithm: SharedAlgorithm, count: Int, _ input: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: count) { out, initialized in
            var empty: UInt8 = 0
            let ok = withUnsafePointer(to: &empty) { emptyPointer in
                EVP_Digest(input.baseAddress ?? emptyPointer, input.count, out.baseAddress, nil, algorithm.pointer, nil)
            }
            guard ok == 1 else { fatalError("libcrypto digest failed") }
            initialized = count
        }
    }

    /// The `HMAC` MAC algorithm, fetched once.
    static let hmac: SharedAlgorithm = {
        guard let mac = EVP_MAC_fetch(nil, "HMAC", nil) else {
            fatalError("libcrypto does not provide HMAC")
        }
        return SharedAlgorithm(pointer: mac)
    }()

    /// Discards this thread's libcrypto error queue after a handled failure, so that stale
    /// entries neither accumulate nor confuse later callers.
    static func clearErrors() {
        ERR_clear_error()
    }
}

extension Collection<UInt8> {
    /// Calls `body` with contiguous bytes, copying only when the collection is not contiguous.
    @inline(__always)
    func withContiguousBytes<R>(_ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        if let result = try withContiguousStorageIfAvailable(body) {
            return result
        }
        return try Array(self).withUnsafeBufferPointer(body)
    }
}
