import CCrypto
import Synchronization

/// HMAC-SHA-256 (RFC 2104) from libcrypto's `EVP_MAC`.
///
/// For a single MAC use ``authenticationCode(key:message:)``. To MAC many messages under the
/// same key (the ingest hot path, hashing customer ids), create one `HMACSHA256` and call
/// ``authenticationCode(for:)``: the key schedule (inner and outer padded key states) is computed
/// once and each call only resets the libcrypto context to it.
public final class HMACSHA256: Sendable {
    /// MAC length in bytes.
    public static let byteCount = 32

    /// The keyed libcrypto context; one call at a time uses it, under the lock.
    private let context: Mutex<ContextHandle>

    /// An owned `EVP_MAC_CTX` pointer.
    ///
    /// `@unchecked Sendable` is safe: the pointer is only dereferenced inside `context.withLock`
    /// (or by its creator before it is shared), so libcrypto never sees concurrent use of it.
    private struct ContextHandle: @unchecked Sendable {
        let pointer: OpaquePointer
    }

    /// Prepares a reusable keyed MAC. Any key length is accepted (RFC 2104).
    public init(key: [UInt8]) {
        context = Mutex(ContextHandle(pointer: Self.makeContext(key: key)))
    }

    deinit {
        context.withLock { EVP_MAC_CTX_free($0.pointer) }
    }

    /// Returns the 32-byte HMAC-SHA-256 of `message` under this instance's key.
    public func authenticationCode(for message: some Collection<UInt8>) -> [UInt8] {
        message.withContiguousBytes { input in
            context.withLock { handle in
                let ctx = handle.pointer
                // A nil key re-initialises the context to its precomputed keyed state.
                guard EVP_MAC_init(ctx, nil, 0, nil) == 1 else {
                    fatalError("libcrypto HMAC re-initialisation failed")
                }
                return Self.finish(ctx, input)
            }
        }
    }

    /// The MACs of the UTF-8 of many strings, in order, taking the context's lock once (a batch
    /// of customer ids, instead of a lock and a byte array per id).
    public func authenticationCodes(forUTF8 messages: [String]) -> [[UInt8]] {
        context.withLock { handle in
            let ctx = handle.pointer
            return messages.map { message in
                guard EVP_MAC_init(ctx, nil, 0, nil) == 1 else {
                    fatalError("libcrypto HMAC re-initialisation failed")
                }
                var message = message
                return message.withUTF8 { Self.finish(ctx, $0) }
            }
        }
    }

    /// Returns the 32-byte HMAC-SHA-256 of `message` under `key`.
    public static func authenticationCode(key: [UInt8], message: some Collection<UInt8>) -> [UInt8] {
        let ctx = makeContext(key: key)
        defer { EVP_MAC_CTX_free(ctx) }
        return message.withContiguousBytes { finish(ctx, $0) }
    }

    /// A new `EVP_MAC_CTX` initialised for HMAC-SHA-256 under `key`.
    private static func makeContext(key: [UInt8]) -> OpaquePointer {
        guard let ctx = EVP_MAC_CTX_new(LibCrypto.hmac.pointer) else {
            fatalError("libcrypto could not allocate an HMAC context")
        }
        let ok = "digest".withCString { name in
            "SHA256".withCString { digest in
                var params = [
                    OSSL_PARAM_construct_utf8_string(name, UnsafeMutablePointer(mutating: digest), 0),
                    OSSL_PARAM_construct_end(),
                ]
                // libcrypto needs a non-nil key pointer even for an empty key (nil means "reuse").
                var empty: UInt8 = 0
                return key.withUnsafeBufferPointer { keyBytes in
                    if let base = keyBytes.baseAddress {
                        return EVP_MAC_init(ctx, base, keyBytes.count, &params)
                    }
                    return EVP_MAC_init(ctx, &empty, 0, &params)
                }
            }
        }
        guard ok == 1 else {
            fatalError("libcrypto HMAC-SHA256 initialisation failed")
        }
        return ctx
    }

    /// Absorbs `input` into an initialised context and returns the MAC.
    @inline(__always)
    private static func finish(_ ctx: OpaquePointer, _ input: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: byteCount) { out, initialized in
            var length = 0
            guard EVP_MAC_update(ctx, input.baseAddress, input.count) == 1,
                EVP_MAC_final(ctx, out.baseAddress, &length, byteCount) == 1,
                length == byteCount
            else {
                fatalError("libcrypto HMAC-SHA256 computation failed")
            }
            initialized = byteCount
        }
    }
}
