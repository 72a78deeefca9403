#if canImport(Glibc)
    import Glibc
#endif

/// epoll, eventfd and accept4, which the toolchain's Glibc module does not export: the functions are
/// looked up once with `dlsym` and called through C function pointers, and `struct epoll_event`
/// is read and written as raw bytes with the kernel's layout (packed on x86-64).
enum Epoll {
    static let input: UInt32 = 0x001
    static let output: UInt32 = 0x004
    static let error: UInt32 = 0x008
    static let hangUp: UInt32 = 0x010
    static let readHangUp: UInt32 = 0x2000
    static let exclusive: UInt32 = 1 << 28
    static let edgeTriggered: UInt32 = 1 << 31

    static let add: Int32 = 1
    static let delete: Int32 = 2
    static let modify: Int32 = 3

    #if arch(x86_64)
        static let eventSize = 12
        static let dataOffset = 4
    #else
        static let eventSize = 16
        static let dataOffset = 8
    #endif

    private typealias CreateFn = @convention(c) (Int32) -> Int32
    private typealias ControlFn = @convention(c) (Int32, Int32, Int32, UnsafeMutableRawPointer?) -> Int32
    private typealias WaitFn = @convention(c) (Int32, UnsafeMutableRawPointer?, Int32, Int32) -> Int32
    private typealias EventFDFn = @convention(c) (UInt32, Int32) -> Int32
    private typealias Accept4Fn = @convention(c) (Int32, UnsafeMutableRawPointer?, UnsafeMutableRawPointer?, Int32) -> Int32

    private struct Functions: @unchecked Sendable {
        // @unchecked Sendable: C function pointers resolved once at load; immutable afterwards.
        let create: CreateFn
        let control: ControlFn
        let wait: WaitFn
        let eventfd: EventFDFn
        let accept4: Accept4Fn
    }

    private static let functions: Functions = {
        let handle = dlopen(nil, RTLD_NOW)
        func symbol<T>(_ name: String, as type: T.Type) -> T {
            guard let p = dlsym(handle, name) else { fatalError("libc lacks \(name)") }
            return unsafeBitCast(p, to: type)
        }
        return Functions(
            create: symbol("epoll_create1", as: CreateFn.self),
            control: symbol("epoll_ctl", as: ControlFn.self),
            wait: symbol("epoll_wait", as: WaitFn.self),
            eventfd: symbol("eventfd", as: EventFDFn.self),
            accept4: symbol("accept4", as: Accept4Fn.self))
    }()

    /// A new epoll instance (close-on-exec), or -1 with errno set.
    static func create() -> Int32 { functions.create(Int32(O_CLOEXEC)) }

    /// A new non-blocking, close-on-exec eventfd, or -1 with errno set.
    static func eventFD() -> Int32 { functions.eventfd(0, Int32(O_NONBLOCK) | Int32(O_CLOEXEC)) }

    /// `accept4` of a non-blocking, close-on-exec connection, or -1 with errno set.
    static func accept(_ listenFD: Int32) -> Int32 {
        functions.accept4(listenFD, nil, nil, Int32(O_NONBLOCK) | Int32(O_CLOEXEC))
    }

    /// `epoll_ctl`; the event data is the descriptor in the low 32 bits and `tag` in the high ones.
    @discardableResult
    static func control(_ epfd: Int32, _ op: Int32, _ fd: Int32, events: UInt32, tag: UInt32 = 0) -> Int32 {
        var raw: (UInt64, UInt64) = (0, 0)
        return withUnsafeMutableBytes(of: &raw) { p in
            p.storeBytes(of: events, toByteOffset: 0, as: UInt32.self)
            let data = UInt64(UInt32(bitPattern: fd)) | UInt64(tag) << 32
            p.storeBytes(of: data, toByteOffset: dataOffset, as: UInt64.self)
            return functions.control(epfd, op, fd, p.baseAddress)
        }
    }

    /// Room for `capacity` events.
    struct EventBuffer {
        let base: UnsafeMutableRawPointer
        let capacity: Int32

        init(capacity: Int32) {
            self.capacity = capacity
            base = UnsafeMutableRawPointer.allocate(byteCount: Int(capacity) * Epoll.eventSize, alignment: 8)
        }

        func deallocate() { base.deallocate() }

        /// The descriptor, tag and event bits of entry `i`.
        func event(_ i: Int) -> (fd: Int32, tag: UInt32, events: UInt32) {
            let p = base + i * Epoll.eventSize
            let bits = p.loadUnaligned(as: UInt32.self)
            let data = (p + Epoll.dataOffset).loadUnaligned(as: UInt64.self)
            return (Int32(bitPattern: UInt32(truncatingIfNeeded: data)), UInt32(truncatingIfNeeded: data >> 32), bits)
        }
    }

    /// `epoll_wait`: the number of ready events, 0 on timeout, -1 on error.
    static func wait(_ epfd: Int32, _ buffer: EventBuffer, timeoutMs: Int32) -> Int32 {
        functions.wait(epfd, buffer.base, buffer.capacity, timeoutMs)
    }
}
