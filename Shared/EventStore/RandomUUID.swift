import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Random (version 4) UUIDs for event ids, from the kernel's CSPRNG (`getrandom`, through glibc's
/// `arc4random_buf`) read 4 KiB at a time. Foundation's `UUID()` opens, reads and closes /dev/urandom on every call on Linux
/// (three system calls; it showed in profiles of ingest). Every random byte is handed out once.
public enum RandomUUID {
    private struct Pool {
        var bytes = [UInt8](repeating: 0, count: 4096)
        var offset = 4096
    }

    private static let pool = Mutex(Pool())

    /// A new random UUID (RFC 9562 version 4).
    public static func make() -> UUID {
        var b: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &b) { out in
            pool.withLock { p in
                if p.offset + 16 > p.bytes.count {
                    p.bytes.withUnsafeMutableBytes { fill($0) }
                    p.offset = 0
                }
                p.bytes.withUnsafeBytes { out.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[p.offset..<(p.offset + 16)])) }
                p.offset += 16
            }
        }
        b.6 = (b.6 & 0x0F) | 0x40
        b.8 = (b.8 & 0x3F) | 0x80
        return UUID(uuid: b)
    }

    /// glibc's `arc4random_buf` reads the kernel CSPRNG (`getrandom`).
    private static func fill(_ buffer: UnsafeMutableRawBufferPointer) {
        arc4random_buf(buffer.baseAddress!, buffer.count)
    }
}
