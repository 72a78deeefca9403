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

    /// The last time-ordered id's millisecond and counter (see `makeTimeOrdered`).
    private static let clock = Mutex((milliseconds: UInt64(0), counter: UInt16(0)))

    /// A new time-ordered UUID (RFC 9562 version 7): 48 bits of unix milliseconds, a 12-bit
    /// counter that keeps this process's ids increasing within a millisecond, and 62 random bits.
    /// For event ids: consecutive ids land next to each other in the `event_id` btree (appends on
    /// its right edge) instead of on a random leaf each, as version 4 ids do.
    public static func makeTimeOrdered() -> UUID {
        var b = make().uuid  // random bits; the version, time and counter overwrite some of them
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var ms = UInt64(now.tv_sec) &* 1000 &+ UInt64(now.tv_nsec / 1_000_000)
        let counter: UInt16 = clock.withLock { c in
            if ms <= c.milliseconds {
                if c.counter < 0x0FFF {
                    c.counter += 1
                } else {  // 4,096 ids in one millisecond: borrow the next one
                    c.milliseconds += 1
                    c.counter = 0
                }
                ms = c.milliseconds
            } else {
                c = (ms, 0)
            }
            return c.counter
        }
        b.0 = UInt8(truncatingIfNeeded: ms >> 40)
        b.1 = UInt8(truncatingIfNeeded: ms >> 32)
        b.2 = UInt8(truncatingIfNeeded: ms >> 24)
        b.3 = UInt8(truncatingIfNeeded: ms >> 16)
        b.4 = UInt8(truncatingIfNeeded: ms >> 8)
        b.5 = UInt8(truncatingIfNeeded: ms)
        b.6 = 0x70 | UInt8(counter >> 8)
        b.7 = UInt8(truncatingIfNeeded: counter)
        return UUID(uuid: b)
    }

    /// glibc's `arc4random_buf` reads the kernel CSPRNG (`getrandom`).
    private static func fill(_ buffer: UnsafeMutableRawBufferPointer) {
        arc4random_buf(buffer.baseAddress!, buffer.count)
    }
}
