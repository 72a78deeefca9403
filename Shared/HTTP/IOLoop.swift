#if canImport(Glibc)
    import Glibc
#endif
import Synchronization

/// One I/O thread: an epoll set with the shared listening socket, its own connections and an
/// eventfd through which async handlers hand their responses back.
///
/// `@unchecked Sendable`: every stored `var` is touched only by the loop's own thread (inside
/// `run()`); other threads only call `post(_:)` and `wake()`, which go through `mailbox` (a
/// `Mutex`) and the eventfd. The `let` properties are immutable after `init`.
final class IOLoop: @unchecked Sendable {
    /// An async handler's response for a queued slot.
    struct Completion: Sendable {
        let fd: Int32
        let connectionID: UInt64
        let sequence: UInt64
        let response: HTTPResponse
    }

    struct Mailbox: Sendable {
        var items: [Completion] = []
        var closed = false
    }

    let context: ServerContext
    let epfd: Int32
    let wakeFD: Int32
    let listenFD: Int32
    let mailbox = Mutex<Mailbox>(Mailbox())

    private var connections: [Int32: HTTPConnection] = [:]
    private var serializer = HTTPResponseSerializer()
    private var now: UInt64 = Socket.now()
    private var nextConnectionID: UInt64 = 0
    private var requestCounter: UInt64 = 0
    private let idPrefix: String
    private var listening = true
    private var shutdownSeen = false

    private static let maxEvents: Int32 = 256
    private static let continueBytes = HTTPResponseSerializer.continueResponse

    init(context: ServerContext, listenFD: Int32) throws(Socket.Error) {
        self.context = context
        self.listenFD = listenFD
        epfd = Epoll.create()
        guard epfd >= 0 else { throw Socket.Error(call: "epoll_create1", errno: errno) }
        wakeFD = Epoll.eventFD()
        guard wakeFD >= 0 else {
            let e = errno
            close(epfd)
            throw Socket.Error(call: "eventfd", errno: e)
        }
        idPrefix = String(UInt32.random(in: 0x1000_0000...UInt32.max), radix: 16)
        Epoll.control(epfd, Epoll.add, wakeFD, events: Epoll.input)
        Epoll.control(epfd, Epoll.add, listenFD, events: Epoll.input | Epoll.exclusive)
    }

    // MARK: Cross-thread entry points

    /// Hands a response back from any thread.
    func post(_ completion: Completion) {
        mailbox.withLock { m in
            if m.closed { return }
            let wasEmpty = m.items.isEmpty
            m.items.append(completion)
            if wasEmpty { signalWake() }
        }
    }

    /// Wakes the loop (used by shutdown).
    func wake() {
        mailbox.withLock { m in
            if !m.closed { signalWake() }
        }
    }

    private func signalWake() {
        var one: UInt64 = 1
        _ = write(wakeFD, &one, 8)
    }

    // MARK: The loop

    func run() {
        let config = context.configuration
        let shortest = min(config.idleTimeout.nanoseconds, config.readTimeout.nanoseconds)
        let tickMs = Int32(min(250, max(5, shortest / 4 / 1_000_000)))
        let tickNs = UInt64(tickMs) * 1_000_000
        var nextTick = Socket.now() + tickNs
        let events = Epoll.EventBuffer(capacity: Self.maxEvents)
        defer { events.deallocate() }

        while true {
            let n = Epoll.wait(epfd, events, timeoutMs: tickMs)
            now = Socket.now()
            if n > 0 {
                for i in 0..<Int(n) {
                    let event = events.event(i)
                    let fd = event.fd
                    if fd == listenFD {
                        acceptConnections()
                    } else if fd == wakeFD {
                        drainMailbox()
                    } else if let connection = connections[fd], connection.tag == event.tag {
                        // The tag check drops stale events of a closed connection whose
                        // descriptor number was reused by a connection accepted in this batch.
                        handle(connection, events: event.events)
                    }
                }
            }
            if context.shuttingDown.load(ordering: .acquiring) && !shutdownSeen {
                beginShutdown()
            }
            if now >= nextTick {
                tick()
                nextTick = now + tickNs
            }
            if shutdownSeen {
                if connections.isEmpty { break }
                if now >= context.shutdownDeadline.load(ordering: .acquiring) {
                    for connection in Array(connections.values) { closeConnection(connection) }
                    break
                }
            }
        }
        mailbox.withLock { $0.closed = true }
        close(wakeFD)
        close(epfd)
        context.loopExited()
    }

    private func beginShutdown() {
        shutdownSeen = true
        if listening {
            listening = false
            Epoll.control(epfd, Epoll.delete, listenFD, events: 0)
        }
        for connection in Array(connections.values) where connection.isIdle {
            closeConnection(connection)
        }
    }

    // MARK: Accepting

    private func acceptConnections() {
        guard listening else { return }
        let max = context.configuration.maxConnections
        for _ in 0..<64 {
            let fd = Epoll.accept(listenFD)
            if fd < 0 {
                if errno == EINTR { continue }
                return
            }
            if context.connectionCount.add(1, ordering: .relaxed).newValue > max {
                context.connectionCount.subtract(1, ordering: .relaxed)
                Self.overloadResponse.withUnsafeBytes { _ = send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                close(fd)
                continue
            }
            Socket.setNoDelay(fd)
            let bits = Epoll.input | Epoll.readHangUp | Epoll.edgeTriggered
            nextConnectionID += 1
            guard Epoll.control(epfd, Epoll.add, fd, events: bits, tag: UInt32(truncatingIfNeeded: nextConnectionID)) == 0
            else {
                close(fd)
                context.connectionCount.subtract(1, ordering: .relaxed)
                continue
            }
            connections[fd] = HTTPConnection(
                fd: fd, id: nextConnectionID, limits: context.parserLimits, now: now)
        }
    }

    private static let overloadResponse: [UInt8] = {
        let body = HTTPResponse.error(status: .serviceUnavailable, message: "too many connections").body
        return Array(
            "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n"
                .utf8) + body
    }()

    // MARK: Connection events

    private func handle(_ connection: HTTPConnection, events: UInt32) {
        if events & (Epoll.error | Epoll.hangUp) != 0 {
            closeConnection(connection)
            return
        }
        if events & Epoll.output != 0 {
            flush(connection)
        }
        if events & (Epoll.input | Epoll.readHangUp) != 0, !connection.closed {
            readable(connection)
        }
    }

    private func readable(_ c: HTTPConnection) {
        if c.lingerUntil != 0 {
            discardInput(c)
            return
        }
        while !c.closed && !c.closeQueued && !c.readPaused && !c.peerClosed {
            c.reserveInput(4096)
            let free = c.input.count - c.inEnd
            let n = c.input.withUnsafeMutableBufferPointer { p in
                read(c.fd, p.baseAddress! + c.inEnd, free)
            }
            if n > 0 {
                c.inEnd += n
                c.lastActivity = now
                processInput(c)
                if n < free { break }
            } else if n == 0 {
                c.peerClosed = true
            } else if errno == EINTR {
                continue
            } else if errno == EAGAIN || errno == EWOULDBLOCK {
                break
            } else {
                closeConnection(c)
                return
            }
        }
        if c.closed { return }
        processInput(c)
        writeReady(c)
    }

    private func discardInput(_ c: HTTPConnection) {
        c.inStart = 0
        c.inEnd = 0
        while true {
            let n = c.input.withUnsafeMutableBytes { read(c.fd, $0.baseAddress, $0.count) }
            if n > 0 {
                // A client still uploading (slowly, on a busy machine) gets two more seconds
                // from its last byte, up to ten in all, to finish and read the response.
                if c.lingerUntil != 0 { c.lingerUntil = min(now + 2_000_000_000, c.lingerLimit) }
                continue
            }
            if n < 0 && errno == EINTR { continue }
            if n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK) { closeConnection(c) }
            return
        }
    }

    /// Parses and dispatches every complete request in the buffer, in order.
    private func processInput(_ c: HTTPConnection) {
        let limits = context.parserLimits
        let rawCap = limits.maxHeaderBytes + 2 * limits.maxBodyBytes + 65536
        while !c.closed && !c.closeQueued && !c.readPaused && c.hasBufferedInput {
            let start = c.inStart
            let end = c.inEnd
            let result = c.input.withUnsafeBufferPointer { p in
                c.parser.parse(UnsafeBufferPointer(rebasing: p[start..<end]))
            }
            switch result {
            case .needMoreData:
                if c.requestStarted == 0 { c.requestStarted = now }
                if end - start > rawCap {
                    respondToParseError(c, HTTPParseError.bodyTooLarge)
                }
                if c.peerClosed { c.closeQueued = true }
                return
            case .expectContinue:
                if c.requestStarted == 0 { c.requestStarted = now }
                if c.pendingSlots == 0 {
                    c.output.append(contentsOf: Self.continueBytes)
                } else {
                    _ = c.appendSlot(bytes: Self.continueBytes, closeAfter: false, info: nil)
                }
                return
            case .error(let error):
                respondToParseError(c, error)
                return
            case .request(let head, let body, let consumed):
                c.consume(consumed)
                c.requestStarted = 0
                dispatch(c, head: head, body: body)
                if c.pendingSlots >= context.configuration.maxPipelinedRequests { c.readPaused = true }
            }
        }
    }

    private func respondToParseError(_ c: HTTPConnection, _ error: HTTPParseError) {
        c.consume(c.inEnd - c.inStart)
        let info = HTTPConnection.PendingInfo(
            method: "-", route: "unmatched", requestID: generateRequestID(), version: .http1_1, keepAlive: false,
            started: now)
        respond(c, .error(status: error.status, message: error.message), info: info, sequence: nil)
    }

    // MARK: Dispatch

    private func dispatch(_ c: HTTPConnection, head: HTTPRequestHead, body: [UInt8]) {
        let requestID = Self.validRequestID(head.headers["X-Request-Id"]) ?? generateRequestID()
        let keepAlive = head.keepAlive && !shutdownSeen
        var info = HTTPConnection.PendingInfo(
            method: head.method, route: "unmatched", requestID: requestID, version: head.version, keepAlive: keepAlive,
            started: now)
        let request: HTTPRequest
        do {
            request = try HTTPRequest(head: head, body: body, requestID: requestID)
        } catch {
            respond(c, .from(error: error), info: info, sequence: nil)
            return
        }
        let router = context.router
        let match = router.match(method: head.method, segments: request.pathSegments)
        guard case .found(let route, let parameters) = match else {
            respond(c, Router.responseForMiss(match)!, info: info, sequence: nil)
            return
        }
        info = HTTPConnection.PendingInfo(
            method: head.method, route: route.pattern, requestID: requestID, version: head.version,
            keepAlive: keepAlive, started: now)
        var requestContext = RequestContext(parameters: parameters, route: route.pattern)
        if route.requiresAuth {
            do {
                guard let authenticator = router.authenticator else {
                    throw APIKeyAuthenticator.failure("authentication required")
                }
                requestContext.tenant = try authenticator.authenticate(request)
            } catch {
                respond(c, .from(error: error), info: info, sequence: nil)
                return
            }
        }
        switch route.handler {
        case .inline(let handler):
            let response: HTTPResponse
            do {
                response = try handler(request, requestContext)
            } catch {
                response = .from(error: error)
            }
            respond(c, response, info: info, sequence: nil)
        case .deferred(let handler):
            let (responder, sequence) = laterResponder(c, info: info)
            do {
                try handler(request, requestContext, responder)
            } catch {
                respond(c, .from(error: error), info: info, sequence: sequence)
            }
        case .async(let handler):
            let context = requestContext
            laterResponder(c, info: info).responder.respondLater { try await handler(request, context) }
        }
    }

    /// A slot for a response that comes later, from any thread, and the responder that fills it.
    private func laterResponder(
        _ c: HTTPConnection, info: HTTPConnection.PendingInfo
    ) -> (responder: HTTPResponder, sequence: UInt64) {
        let sequence = c.appendSlot(bytes: nil, closeAfter: false, info: info)
        let fd = c.fd
        let connectionID = c.id
        let responder = HTTPResponder { [self] response in
            self.post(Completion(fd: fd, connectionID: connectionID, sequence: sequence, response: response))
        }
        return (responder, sequence)
    }

    /// Serialises `response`, records metrics and the log line, and queues the bytes in order:
    /// straight into the output when nothing is pending ahead, else into slot `sequence` (or a new slot).
    private func respond(
        _ c: HTTPConnection, _ response: HTTPResponse, info: HTTPConnection.PendingInfo, sequence: UInt64?
    ) {
        let keepAlive = info.keepAlive && !shutdownSeen
        let headOnly = info.method == "HEAD"
        record(response, info: info)
        if let sequence {
            guard let index = c.slotIndex(sequence) else { return }
            var bytes: [UInt8] = []
            bytes.reserveCapacity(160 + response.body.count)
            serializer.write(
                response, version: info.version, keepAlive: keepAlive, headOnly: headOnly,
                requestID: info.requestID, into: &bytes)
            c.slots[index].bytes = bytes
            c.slots[index].closeAfter = !keepAlive
        } else if c.pendingSlots == 0 {
            serializer.write(
                response, version: info.version, keepAlive: keepAlive, headOnly: headOnly,
                requestID: info.requestID, into: &c.output)
            if !keepAlive { c.closeAfterOutput = true }
        } else {
            var bytes: [UInt8] = []
            serializer.write(
                response, version: info.version, keepAlive: keepAlive, headOnly: headOnly,
                requestID: info.requestID, into: &bytes)
            _ = c.appendSlot(bytes: bytes, closeAfter: !keepAlive, info: nil)
        }
        if !keepAlive { c.closeQueued = true }
    }

    private func record(_ response: HTTPResponse, info: HTTPConnection.PendingInfo) {
        let seconds = Double(Socket.now() &- info.started) / 1e9
        let method = Self.metricMethod(info.method)
        context.requestsTotal.increment(labels: [info.route, method, String(response.status.code)])
        context.requestDuration.observe(seconds, labels: [info.route])
        if context.logger.isEnabled(.info) {
            context.logger.logRequest(
                requestID: info.requestID, method: method, route: info.route, status: response.status.code,
                durationMs: seconds * 1000, bytes: response.body.count)
        }
    }

    private static func metricMethod(_ method: String) -> String {
        switch method {
        case "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "-": method
        default: "other"
        }
    }

    private func drainMailbox() {
        var value: UInt64 = 0
        _ = read(wakeFD, &value, 8)
        let items = mailbox.withLock { m in
            let items = m.items
            m.items.removeAll(keepingCapacity: true)
            return items
        }
        for completion in items {
            guard let c = connections[completion.fd], c.id == completion.connectionID, !c.closed,
                let index = c.slotIndex(completion.sequence), let info = c.slots[index].info
            else { continue }
            now = Socket.now()
            respond(c, completion.response, info: info, sequence: completion.sequence)
            writeReady(c)
            if !c.closed && c.readPaused && c.pendingSlots < context.configuration.maxPipelinedRequests {
                c.readPaused = false
                readable(c)
            }
        }
    }

    // MARK: Writing

    private func writeReady(_ c: HTTPConnection) {
        if c.collectReadySlots() { c.closeAfterOutput = true }
        flush(c)
    }

    private func flush(_ c: HTTPConnection) {
        guard !c.closed else { return }
        while c.hasUnsentOutput {
            let offset = c.outOffset
            let n = c.output.withUnsafeBytes { p in
                send(c.fd, p.baseAddress! + offset, p.count - offset, Int32(MSG_NOSIGNAL))
            }
            if n > 0 {
                c.outOffset += n
                c.lastActivity = now
            } else if n < 0 && errno == EINTR {
                continue
            } else if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                if !c.waitingForWritable {
                    c.waitingForWritable = true
                    modify(c, writable: true)
                }
                return
            } else {
                closeConnection(c)
                return
            }
        }
        if !c.output.isEmpty {
            if c.output.capacity > 65536 {
                c.output = []  // give back the memory of a large response
            } else {
                c.output.removeAll(keepingCapacity: true)
            }
            c.outOffset = 0
        }
        if c.waitingForWritable {
            c.waitingForWritable = false
            modify(c, writable: false)
        }
        if c.closeAfterOutput {
            startLinger(c)
        } else if c.pendingSlots == 0 && c.peerClosed {
            closeConnection(c)
        } else if shutdownSeen && c.isIdle {
            closeConnection(c)
        }
    }

    private func modify(_ c: HTTPConnection, writable: Bool) {
        var bits = Epoll.input | Epoll.readHangUp | Epoll.edgeTriggered
        if writable { bits |= Epoll.output }
        Epoll.control(epfd, Epoll.modify, c.fd, events: bits, tag: c.tag)
    }

    /// Half-closes after the final response and discards what the client still sends for a
    /// moment, so a client still uploading sees the response rather than a reset.
    private func startLinger(_ c: HTTPConnection) {
        guard c.lingerUntil == 0 else { return }
        if c.peerClosed {
            closeConnection(c)
            return
        }
        Glibc.shutdown(c.fd, Int32(SHUT_WR))
        c.lingerUntil = now + 2_000_000_000
        c.lingerLimit = now + 10_000_000_000
        discardInput(c)
    }

    private func closeConnection(_ c: HTTPConnection) {
        guard !c.closed else { return }
        c.closed = true
        connections[c.fd] = nil
        close(c.fd)
        context.connectionCount.subtract(1, ordering: .relaxed)
    }

    // MARK: Timers

    private func tick() {
        let config = context.configuration
        let idle = config.idleTimeout.nanoseconds
        let readTimeout = config.readTimeout.nanoseconds
        for c in Array(connections.values) {
            if c.lingerUntil != 0 {
                if now >= c.lingerUntil { closeConnection(c) }
                continue
            }
            if c.hasUnsentOutput {
                if now &- c.lastActivity > idle { closeConnection(c) }
                continue
            }
            if c.requestStarted != 0 && !c.closeQueued && now &- c.requestStarted > readTimeout {
                if c.pendingSlots == 0 {
                    c.consume(c.inEnd - c.inStart)
                    let info = HTTPConnection.PendingInfo(
                        method: "-", route: "unmatched", requestID: generateRequestID(), version: .http1_1,
                        keepAlive: false, started: c.requestStarted)
                    respond(c, .error(status: .requestTimeout, message: "request timeout"), info: info, sequence: nil)
                    writeReady(c)
                } else {
                    closeConnection(c)
                }
                continue
            }
            if c.isIdle && (shutdownSeen || now &- c.lastActivity > idle) {
                closeConnection(c)
            }
        }
    }

    // MARK: Request ids

    private func generateRequestID() -> String {
        requestCounter += 1
        return idPrefix + "-" + String(requestCounter, radix: 16)
    }

    /// A client-supplied id is kept when it is 1...128 visible ASCII characters.
    static func validRequestID(_ value: String?) -> String? {
        guard let value, !value.isEmpty, value.utf8.count <= 128 else { return nil }
        for b in value.utf8 where b < 0x21 || b > 0x7E { return nil }
        return value
    }
}
