#if canImport(Glibc)
    import Glibc
#endif
import JSON
import Synchronization
import ThreadSupport

/// An HTTP/1.1 server on POSIX sockets and epoll: a few I/O threads, each owning its
/// connections; async handlers run as Tasks and hand their responses back to the owning thread,
/// which writes them in request order. Inline handlers run on the I/O thread itself.
///
/// ```swift
/// let server = HTTPServer(router: router, configuration: .init(port: 8080))
/// try server.start()
/// // ...
/// await server.shutdown()
/// ```
public final class HTTPServer: Sendable {
    /// Server settings. The defaults suit production; tests shorten the timeouts.
    public struct Configuration: Sendable {
        /// Address to bind (IPv4 or IPv6 literal, or "localhost"). Default 127.0.0.1.
        public var host: String = "127.0.0.1"
        /// Port to bind; 0 picks an ephemeral port (read it from `HTTPServer.port`). Default 0.
        public var port: Int = 0
        /// Largest accepted request body (decoded), in bytes; larger → 413. Default 1 MiB.
        public var maxBodyBytes: Int = 1024 * 1024
        /// Largest request line + header block, in bytes; larger → 431 (414 for the line alone). Default 16 KiB.
        public var maxHeaderBytes: Int = 16 * 1024
        /// Most header fields per request; more → 431. Default 100.
        public var maxHeaderCount: Int = 100
        /// How long a keep-alive connection may sit idle between requests. Default 60 s.
        public var idleTimeout: Duration = .seconds(60)
        /// How long a started request may take to arrive completely; then 408 and close. Default 10 s.
        public var readTimeout: Duration = .seconds(10)
        /// Most open connections; further ones get a 503 and are closed. Default 10,000.
        public var maxConnections: Int = 10_000
        /// Number of I/O threads. Default: the number of online processors.
        public var ioThreads: Int = HTTPServer.processorCount
        /// Most requests of one connection waiting for handlers before reading pauses. Default 32.
        public var maxPipelinedRequests: Int = 32
        /// How long `shutdown()` lets in-flight requests finish before closing everything. Default 10 s.
        public var shutdownTimeout: Duration = .seconds(10)
        /// `listen` backlog. Default 1024.
        public var backlog: Int32 = 1024

        public init(host: String = "127.0.0.1", port: Int = 0) {
            self.host = host
            self.port = port
        }
    }

    /// Online processors, as the default I/O thread count.
    public static var processorCount: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }

    struct State: Sendable {
        var listenFD: Int32 = -1
        var port = 0
        var loops: [IOLoop] = []
        var running = 0
        var started = false
        var stopped = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    public let configuration: Configuration
    /// The registry the server records `http_requests_total` and `http_request_duration_seconds` in.
    public let metrics: MetricsRegistry
    let context: ServerContext
    private let state: ServerState

    /// - Parameters:
    ///   - router: the routes (and authenticator) to serve.
    ///   - metrics: where request metrics go; share it with the `/metrics` route.
    ///   - logger: request log lines (info level) go here.
    public init(
        router: Router, configuration: Configuration = Configuration(), metrics: MetricsRegistry = MetricsRegistry(),
        logger: RequestLogger = RequestLogger()
    ) {
        self.configuration = configuration
        self.metrics = metrics
        self.state = ServerState()
        self.context = ServerContext(
            router: router, configuration: configuration, metrics: metrics, logger: logger)
        let state = self.state
        context.onAllLoopsExited = {
            let waiters = state.withLock { s -> [CheckedContinuation<Void, Never>] in
                s.stopped = true
                if s.listenFD >= 0 {
                    close(s.listenFD)
                    s.listenFD = -1
                }
                let w = s.waiters
                s.waiters = []
                return w
            }
            for w in waiters { w.resume() }
        }
    }

    /// The bound port (after `start()`).
    public var port: Int { state.withLock { $0.port } }

    /// Binds, listens and starts the I/O threads. Returns at once. Call it once.
    public func start() throws {
        guard state.withLock({ s -> Bool in
            if s.started { return false }
            s.started = true
            return true
        }) else { throw Socket.Error(call: "start (already started)", errno: EALREADY) }
        signal(SIGPIPE, SIG_IGN)
        let fd: Int32
        let port: Int
        var loops: [IOLoop] = []
        do {
            (fd, port) = try Socket.listen(host: configuration.host, port: configuration.port, backlog: configuration.backlog)
            do {
                for _ in 0..<max(1, configuration.ioThreads) {
                    loops.append(try IOLoop(context: context, listenFD: fd))
                }
            } catch {
                close(fd)
                throw error
            }
        } catch {
            let waiters = state.withLock { s -> [CheckedContinuation<Void, Never>] in
                s.started = false
                let w = s.waiters
                s.waiters = []
                return w
            }
            for w in waiters { w.resume() }
            throw error
        }
        context.running.store(loops.count, ordering: .releasing)
        state.withLock { s in
            s.listenFD = fd
            s.port = port
            s.loops = loops
        }
        context.logger.log(
            .info, "http server listening",
            ["host": .string(configuration.host), "port": .int(port), "io_threads": .int(loops.count)])
        for loop in loops {
            var thread = pthread_t()
            let box = Unmanaged.passRetained(loop).toOpaque()
            let rc = pthread_create(
                &thread, nil,
                { arg in
                    let loop = Unmanaged<IOLoop>.fromOpaque(arg!).takeRetainedValue()
                    nameCurrentThread("http-io")
                    loop.run()
                    return nil
                }, box)
            if rc == 0 {
                pthread_detach(thread)
            } else {
                Unmanaged<IOLoop>.fromOpaque(box).release()
                context.loopExited()
            }
        }
    }

    /// Starts the server and waits until it has shut down.
    public func run() async throws {
        try start()
        await wait()
    }

    /// Stops accepting, closes idle connections, lets in-flight requests finish (up to
    /// `shutdownTimeout`), then closes everything. Returns without waiting; see `shutdown()`.
    public func beginShutdown() {
        let deadline = Socket.now() + configuration.shutdownTimeout.nanoseconds
        context.shutdownDeadline.store(deadline, ordering: .releasing)
        context.shuttingDown.store(true, ordering: .releasing)
        let (loops, listenFD) = state.withLock { ($0.loops, $0.listenFD) }
        if listenFD >= 0 { Glibc.shutdown(listenFD, Int32(SHUT_RDWR)) }
        for loop in loops { loop.wake() }
    }

    /// Shuts down gracefully (see `beginShutdown()`) and waits until every I/O thread has stopped.
    public func shutdown() async {
        beginShutdown()
        await wait()
    }

    /// Waits until the server has stopped (returns at once if it never started).
    public func wait() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let now = state.withLock { s -> Bool in
                if s.stopped || !s.started { return true }
                s.waiters.append(c)
                return false
            }
            if now { c.resume() }
        }
    }

    /// Open connections right now.
    public var connectionCount: Int { context.connectionCount.load(ordering: .relaxed) }
}

/// The server's lifecycle state behind a lock, in a class so the exit callback can hold it.
final class ServerState: Sendable {
    private let mutex = Mutex<HTTPServer.State>(HTTPServer.State())
    func withLock<R: Sendable>(_ body: (inout HTTPServer.State) -> R) -> R { mutex.withLock { body(&$0) } }
}

/// What every I/O thread shares: configuration, routes, metrics and the shutdown flag.
final class ServerContext: Sendable {
    let router: Router
    let configuration: HTTPServer.Configuration
    let parserLimits: HTTPRequestParser.Limits
    let logger: RequestLogger
    let requestsTotal: Counter
    let requestDuration: Histogram
    let shuttingDown = Atomic<Bool>(false)
    let shutdownDeadline = Atomic<UInt64>(UInt64.max)
    let connectionCount = Atomic<Int>(0)
    let running = Atomic<Int>(0)
    private let exitHandler = Mutex<(@Sendable () -> Void)?>(nil)

    init(router: Router, configuration: HTTPServer.Configuration, metrics: MetricsRegistry, logger: RequestLogger) {
        self.router = router
        self.configuration = configuration
        self.parserLimits = HTTPRequestParser.Limits(
            maxHeaderBytes: configuration.maxHeaderBytes, maxHeaderCount: configuration.maxHeaderCount,
            maxBodyBytes: configuration.maxBodyBytes)
        self.logger = logger
        self.requestsTotal = metrics.counter(
            "http_requests_total", help: "HTTP requests by route, method and status.",
            labelNames: ["route", "method", "status"])
        self.requestDuration = metrics.histogram(
            "http_request_duration_seconds", help: "HTTP request duration by route.", labelNames: ["route"])
    }

    var onAllLoopsExited: (@Sendable () -> Void)? {
        get { exitHandler.withLock { $0 } }
        set { exitHandler.withLock { $0 = newValue } }
    }

    func loopExited() {
        if running.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 {
            onAllLoopsExited?()
        }
    }
}
