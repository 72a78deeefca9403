import Synchronization

/// Random nonces served from a buffer of CSPRNG output, refilled with `RAND_bytes` 4 KiB at a
/// time, because one `RAND_bytes` call costs about a microsecond, more than sealing 200 bytes.
///
/// Every byte comes from libcrypto's CSPRNG and is handed out exactly once, so nonces are as
/// unpredictable and unique as with a `RAND_bytes` call per nonce. (Nonces are public: they
/// are written in front of every sealed box, so keeping them buffered in memory reveals nothing.)
enum NoncePool {
    private struct Buffer {
        var bytes = [UInt8](repeating: 0, count: 4096)
        var offset = 4096
    }

    private static let buffer = Mutex(Buffer())

    /// Fills `destination` (at most 4096 bytes) with random bytes used by no other caller.
    static func fill(_ destination: UnsafeMutableRawBufferPointer) {
        let count = destination.count
        precondition(count <= 4096)
        buffer.withLock { pool in
            if pool.offset + count > pool.bytes.count {
                pool.bytes.withUnsafeMutableBytes { SecureRandom.fill($0) }
                pool.offset = 0
            }
            pool.bytes.withUnsafeBytes { source in
                destination.copyMemory(from: UnsafeRawBufferPointer(rebasing: source[pool.offset..<(pool.offset + count)]))
            }
            pool.offset += count
        }
    }
}
