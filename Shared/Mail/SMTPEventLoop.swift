import Dispatch
import Epoll
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// One thread that drives the mail transactions of every session of an `SMTPTransport` with
/// epoll: when several replies have arrived they are handled in one wake-up, where a thread per
/// session would wake once per reply (four replies a message from a server without PIPELINING).
///
/// A session is an `SMTPClient` and its queue of messages. Opening a session (connect, TLS
/// handshake, AUTH) and QUIT block, so they run on the session's own dispatch queue; the client
/// is handed back to the loop through its inbox when they are done.
final class SMTPEventLoop: Sendable {
    /// A message waiting for its outcome.
    struct Job: Sendable {
        var message: MailMessage
        var continuation: CheckedContinuation<SendOutcome, Never>
    }

    /// What other threads tell the loop.
    private enum Request: Sendable {
        case send(session: Int, Job)
        case opened(session: Int, failure: SendOutcome?)
        case quit(CheckedContinuation<Void, Never>)
        case quitDone(session: Int)
        case stop
    }

    /// The loop-confined state of one session.
    private final class Session {
        /// Owned by the loop thread, except while `handedOff`: then by the session's queue alone.
        let client: ClientBox
        let queue: DispatchQueue
        var pending: [Job] = []
        var pendingStart = 0
        var current: Job?
        /// Whether `current` went out on a session opened before it (then a failure with nothing
        /// sent means the server had dropped the idle session: try once more on a fresh one).
        var reused = false
        var attempt = 0
        var handedOff = false
        var quitWanted = false
        /// The descriptor registered with epoll and the events asked for, if any.
        var registered: (fd: Int32, wantsWrite: Bool)?
        /// When the server must have answered (monotonic nanoseconds), while waiting.
        var deadline: UInt64?

        init(index: Int, client: SMTPClient) {
            self.client = ClientBox(client)
            queue = DispatchQueue(label: "mail.smtp.session.\(index)")
        }

        var hasPending: Bool { pendingStart < pending.count }

        func takePending() -> Job {
            let job = pending[pendingStart]
            pendingStart += 1
            if pendingStart == pending.count {
                pending.removeAll(keepingCapacity: true)
                pendingStart = 0
            }
            return job
        }

        var isIdle: Bool { current == nil && !handedOff }
    }

    /// Carries a client to the session's queue and back.
    /// `@unchecked Sendable`: the client is used by one thread at a time; the loop stops touching
    /// it when it hands it off (`handedOff`) and resumes only after the queue's reply arrives
    /// through the inbox (a mutex, which orders the two threads' accesses).
    private final class ClientBox: @unchecked Sendable {
        let client: SMTPClient
        init(_ client: SMTPClient) { self.client = client }
    }

    /// Messages in flight or waiting on one session (read by `send` to pick the least busy).
    private final class Load: Sendable {
        let value = Atomic<Int>(0)
    }

    private let loads: [Load]
    private let inbox = Mutex<[Request]>([])
    /// Set while the loop is (about to be) blocked in epoll_wait: only then does a request
    /// need the eventfd write that wakes it.
    private let sleeping = Atomic<Bool>(false)
    private let wakeFD: Int32
    private let epollFD: Int32
    private let commandTimeoutNanoseconds: UInt64
    /// The loop thread's state. `@unchecked Sendable` because only the loop thread touches it
    /// after `start()`.
    private let state: LoopState

    private final class LoopState: @unchecked Sendable {
        var sessions: [Session]
        var quitWaiters: [CheckedContinuation<Void, Never>] = []
        init(sessions: [Session]) { self.sessions = sessions }
    }

    /// A loop over `clients` (one session each); its thread starts at once and runs until `stop()`.
    init(clients: [SMTPClient], commandTimeout: Double) {
        loads = clients.map { _ in Load() }
        state = LoopState(sessions: clients.enumerated().map { Session(index: $0.offset, client: $0.element) })
        commandTimeoutNanoseconds = UInt64(max(0.001, commandTimeout) * 1_000_000_000)
        wakeFD = Epoll.eventFD()
        epollFD = Epoll.create()
        Epoll.control(epollFD, Epoll.add, wakeFD, events: Epoll.input)
        let thread = Thread { [self] in self.run() }
        thread.name = "mail.smtp.loop"
        thread.start()
    }

    /// Sends `message` over the session with the fewest messages in flight.
    func send(_ message: MailMessage) async -> SendOutcome {
        var session = 0
        var least = Int.max
        for (index, load) in loads.enumerated() {
            let value = load.value.load(ordering: .relaxed)
            if value < least {
                least = value
                session = index
            }
        }
        loads[session].value.add(1, ordering: .relaxed)
        return await withCheckedContinuation { continuation in
            post(.send(session: session, Job(message: message, continuation: continuation)))
        }
    }

    /// QUIT on every open session once its queued messages are done.
    func quitAll() async {
        await withCheckedContinuation { continuation in post(.quit(continuation)) }
    }

    /// Ends the loop thread (closing connections without QUIT). Messages still waiting get a
    /// temporary failure.
    func stop() {
        post(.stop)
    }

    private func post(_ request: Request) {
        inbox.withLock { $0.append(request) }
        if sleeping.exchange(false, ordering: .sequentiallyConsistent) {
            var one: UInt64 = 1
            _ = write(wakeFD, &one, 8)
        }
    }

    // MARK: The loop thread

    private func run() {
        let events = Epoll.EventBuffer(capacity: 64)
        defer { events.deallocate() }
        while true {
            var requests = inbox.withLock { requests in
                let taken = requests
                requests.removeAll(keepingCapacity: true)
                return taken
            }
            if requests.isEmpty {
                // Announce the sleep, then look again: a request posted in between either is
                // seen here or finds `sleeping` set and writes the eventfd.
                sleeping.store(true, ordering: .sequentiallyConsistent)
                requests = inbox.withLock { requests in
                    let taken = requests
                    requests.removeAll(keepingCapacity: true)
                    return taken
                }
            }
            if requests.isEmpty {
                let count = Epoll.wait(epollFD, events, timeoutMs: waitMilliseconds())
                sleeping.store(false, ordering: .sequentiallyConsistent)
                for index in 0..<max(0, Int(count)) {
                    let event = events.event(index)
                    if event.fd == wakeFD {
                        var value: UInt64 = 0
                        _ = read(wakeFD, &value, 8)
                        continue
                    }
                    // The tag is the session; a stale event of a descriptor the session has
                    // since closed is ignored.
                    socketReady(Int(event.tag), fd: event.fd, event.events)
                }
                expireDeadlines()
            } else {
                sleeping.store(false, ordering: .sequentiallyConsistent)
                for request in requests {
                    if case .stop = request {
                        shutDown()
                        return
                    }
                    handle(request)
                }
            }
        }
    }

    private func handle(_ request: Request) {
        switch request {
        case .send(let index, let job):
            let session = state.sessions[index]
            session.pending.append(job)
            startNext(index)
        case .opened(let index, let failure):
            let session = state.sessions[index]
            session.handedOff = false
            guard let failure else {
                begin(index)
                return
            }
            finishCurrent(index, failure)
        case .quit(let continuation):
            state.quitWaiters.append(continuation)
            for index in state.sessions.indices {
                state.sessions[index].quitWanted = true
                startNext(index)
            }
            resumeQuitWaitersIfDone()
        case .quitDone(let index):
            state.sessions[index].handedOff = false
            startNext(index)
            resumeQuitWaitersIfDone()
        case .stop:
            break
        }
    }

    /// Starts the session's next message, or its QUIT, if it is idle.
    private func startNext(_ index: Int) {
        let session = state.sessions[index]
        guard session.isIdle else { return }
        if session.hasPending {
            session.current = session.takePending()
            session.attempt = 1
            if session.client.client.isConnected {
                session.reused = true
                begin(index)
            } else {
                session.reused = false
                open(index)
            }
            return
        }
        guard session.quitWanted else { return }
        session.quitWanted = false
        guard session.client.client.isConnected else { return }
        handOff(index) { client in
            client.close()
            return .quitDone(session: index)
        }
    }

    /// Opens the session on its queue; `.opened` comes back.
    private func open(_ index: Int) {
        handOff(index) { client in .opened(session: index, failure: client.open()) }
    }

    private func handOff(_ index: Int, _ work: @escaping @Sendable (SMTPClient) -> Request) {
        let session = state.sessions[index]
        unregister(session)
        session.handedOff = true
        let box = session.client
        session.queue.async { [self] in
            post(work(box.client))
        }
    }

    private func begin(_ index: Int) {
        let session = state.sessions[index]
        guard let job = session.current else { return }
        apply(session.client.client.begin(job.message), to: index)
    }

    private func apply(_ progress: SMTPClient.Progress, to index: Int) {
        let session = state.sessions[index]
        switch progress {
        case .waiting(let wantsWrite):
            session.deadline = DispatchTime.now().uptimeNanoseconds + commandTimeoutNanoseconds
            register(session, index, wantsWrite: wantsWrite)
        case .finished(let outcome, let nothingSent):
            session.deadline = nil
            // A reused session the server had dropped: once more on a fresh connection.
            if nothingSent, session.reused, session.attempt == 1 {
                session.attempt = 2
                session.reused = false
                open(index)
                return
            }
            finishCurrent(index, outcome)
        }
    }

    private func finishCurrent(_ index: Int, _ outcome: SendOutcome) {
        let session = state.sessions[index]
        if let job = session.current {
            session.current = nil
            loads[index].value.subtract(1, ordering: .relaxed)
            job.continuation.resume(returning: outcome)
        }
        if !session.client.client.isConnected {
            unregister(session)
        } else if session.registered?.wantsWrite == true {
            register(session, index, wantsWrite: false)
        }
        startNext(index)
    }

    private func socketReady(_ index: Int, fd: Int32, _ events: UInt32) {
        guard index < state.sessions.count else { return }
        let session = state.sessions[index]
        guard !session.handedOff, session.registered?.fd == fd else { return }
        let client = session.client.client
        guard session.current != nil else {
            // An idle session: the server closed it or spoke unasked.
            client.idleReadable()
            if !client.isConnected { unregister(session) }
            return
        }
        if events & Epoll.output != 0 {
            let progress = client.writable()
            if case .finished = progress {
                apply(progress, to: index)
                return
            }
            if events & (Epoll.input | Epoll.hangUp | Epoll.error) == 0 {
                apply(progress, to: index)
                return
            }
        }
        apply(client.readable(), to: index)
    }

    private func expireDeadlines() {
        let now = DispatchTime.now().uptimeNanoseconds
        for (index, session) in state.sessions.enumerated() {
            guard let deadline = session.deadline, deadline <= now, session.current != nil, !session.handedOff else {
                continue
            }
            session.deadline = nil
            apply(session.client.client.timedOut(), to: index)
        }
    }

    /// Milliseconds until the nearest deadline (-1: none).
    private func waitMilliseconds() -> Int32 {
        var nearest: UInt64?
        for session in state.sessions {
            if let deadline = session.deadline { nearest = min(nearest ?? deadline, deadline) }
        }
        guard let nearest else { return -1 }
        let now = DispatchTime.now().uptimeNanoseconds
        guard nearest > now else { return 0 }
        return Int32(min(UInt64(Int32.max), (nearest - now + 999_999) / 1_000_000))
    }

    private func register(_ session: Session, _ index: Int, wantsWrite: Bool) {
        guard let fd = session.client.client.fileDescriptor else { return }
        if let registered = session.registered, registered.fd == fd, registered.wantsWrite == wantsWrite { return }
        let bits = Epoll.input | (wantsWrite ? Epoll.output : 0)
        let operation = session.registered?.fd == fd ? Epoll.modify : Epoll.add
        if Epoll.control(epollFD, operation, fd, events: bits, tag: UInt32(index)) != 0, errno == EEXIST {
            Epoll.control(epollFD, Epoll.modify, fd, events: bits, tag: UInt32(index))
        }
        session.registered = (fd, wantsWrite)
    }

    /// Stops watching the session's socket (before a hand-off, or once it is closed: a closed
    /// descriptor leaves epoll by itself, and its number may be reused).
    private func unregister(_ session: Session) {
        guard let registered = session.registered else { return }
        if session.client.client.fileDescriptor == registered.fd {
            Epoll.control(epollFD, Epoll.delete, registered.fd, events: 0)
        }
        session.registered = nil
    }

    private func resumeQuitWaitersIfDone() {
        guard !state.quitWaiters.isEmpty else { return }
        let done = state.sessions.allSatisfy { !$0.quitWanted && !$0.handedOff && $0.current == nil && !$0.hasPending }
        guard done else { return }
        for waiter in state.quitWaiters { waiter.resume() }
        state.quitWaiters.removeAll()
    }

    /// The loop is ending: no more sends. Waits for sessions on their queues, then fails what is left.
    private func shutDown() {
        for session in state.sessions {
            session.queue.sync {}
            session.client.client.abandon()
            if let job = session.current { job.continuation.resume(returning: .temporary(reason: "SMTP transport closed")) }
            while session.hasPending {
                session.takePending().continuation.resume(returning: .temporary(reason: "SMTP transport closed"))
            }
        }
        for waiter in state.quitWaiters { waiter.resume() }
        // Requests that arrived with or after `.stop`.
        for request in inbox.withLock({ $0 }) {
            switch request {
            case .send(_, let job): job.continuation.resume(returning: .temporary(reason: "SMTP transport closed"))
            case .quit(let continuation): continuation.resume()
            default: break
            }
        }
        _ = Glibc.close(epollFD)
        _ = Glibc.close(wakeFD)
    }
}
