import Dispatch
import Foundation
import Synchronization
import ThreadSupport

#if canImport(Glibc)
    import Glibc
#endif

/// One rendered message on its way through a session of `SMTPEventLoop`.
struct SMTPJob: Sendable {
    var sender: String
    var recipients: [String]
    var data: [UInt8]
    var completion: @Sendable (SendOutcome) -> Void
    /// 2 for the second try of a message whose reused session had gone away before any of it
    /// reached the server.
    var attempt = 1
}

/// The sessions of one `SMTPTransport`, driven by one thread on non-blocking sockets (epoll).
///
/// Without PIPELINING a message takes four round trips; with a blocking thread per session,
/// every reply woke a thread of its own (a context switch costs about as much as handling the
/// reply). Here every session's replies wake the same thread, which carries out the session
/// machines' actions; replies that arrive together, or while it is busy, are handled without
/// another wake-up. (Waiting on purpose after each round, so that more replies gather, was
/// measured and saved switches but not CPU: the timer wake-ups cost what they saved.)
///
/// Opening a session (connect, greeting, EHLO, STARTTLS, AUTH) blocks, so it runs on a dispatch
/// queue through `SMTPSessionOpener`, and the ready connection is handed to the loop.
final class SMTPEventLoop: @unchecked Sendable {
    // @unchecked Sendable: `sessions`, `readBuffer` and `quitWaiters` are touched only by the
    // loop's thread; other threads go through `inbox` (a Mutex) and the eventfd, and read the
    // `inFlight` counters (atomics). The `let`s are immutable after `init`.

    private enum Command {
        case send(Int, SMTPJob)
        case opened(Int, SMTPOpening)
        case quitAll(@Sendable () -> Void)
        case stop
    }

    /// A session's `SMTPSessionOpener`, used only to open its connections.
    private struct Opener: @unchecked Sendable {
        // @unchecked Sendable: used on `openQueue` only while the session is `opening`, which
        // the loop sets before and clears after, so one thread at a time.
        let client: SMTPSessionOpener
    }

    /// The loop's view of one session.
    private final class Session {
        let index: Int
        /// Opens this session's connections (on `openQueue` only, while `opening`).
        let opener: Opener
        var live: SMTPReadySession?
        /// The connection has carried no message yet.
        var fresh = false
        var jobs: [SMTPJob] = []
        var current: SMTPJob?
        /// Whether `current` started on a connection that had carried a message before.
        var reused = false
        var opening = false
        /// When the awaited reply is overdue (uptime nanoseconds), if one is awaited.
        var deadline: UInt64?
        /// Registered for output (queued bytes wait for the socket).
        var writing = false
        /// QUIT asked for: sent once the session is idle.
        var quitRequested = false
        var quitting = false

        init(index: Int, opener: SMTPSessionOpener) {
            self.index = index
            self.opener = Opener(client: opener)
        }
    }

    /// Messages submitted to each session and not finished yet (for the least busy choice).
    private final class Counter: Sendable {
        let value = Atomic<Int>(0)
    }

    private let inbox = Mutex<[Command]>([])
    private let epfd: Int32
    private let wakeFD: Int32
    private let sessions: [Session]
    private let counters: [Counter]
    private let commandTimeout: UInt64
    private let openQueue = DispatchQueue(label: "mail.smtp.open", attributes: .concurrent)
    private var readBuffer = [UInt8](repeating: 0, count: 16_384)
    private var quitWaiters: [@Sendable () -> Void] = []

    /// Starts the loop's thread. `openers` are one client per session; `commandTimeout` is in
    /// seconds.
    init(openers: [SMTPSessionOpener], commandTimeout: Double) {
        sessions = openers.enumerated().map { Session(index: $0.offset, opener: $0.element) }
        counters = openers.map { _ in Counter() }
        self.commandTimeout = UInt64(max(0.001, commandTimeout) * 1e9)
        epfd = Epoll.create()
        wakeFD = Epoll.eventFD()
        precondition(epfd >= 0 && wakeFD >= 0, "cannot create the SMTP transport's epoll set: \(String(cString: strerror(errno)))")
        Epoll.control(epfd, Epoll.add, wakeFD, events: Epoll.input, tag: UInt32.max)
        let thread = Thread { [self] in
            nameCurrentThread("smtp-loop")
            run()
        }
        thread.name = "smtp-loop"
        thread.start()
    }

    /// Queues `job` on the session with the fewest messages in flight.
    func submit(_ job: SMTPJob) {
        var best = 0
        for i in counters.indices.dropFirst()
        where counters[i].value.load(ordering: .relaxed) < counters[best].value.load(ordering: .relaxed) {
            best = i
        }
        counters[best].value.add(1, ordering: .relaxed)
        post(.send(best, job))
    }

    /// Sends QUIT on every open session once it is idle, then calls `done`.
    func quitAll(_ done: @escaping @Sendable () -> Void) { post(.quitAll(done)) }

    /// Closes every connection (no QUIT), fails what is still queued, and ends the thread.
    func stop() { post(.stop) }

    private func post(_ command: Command) {
        inbox.withLock { $0.append(command) }
        var one: UInt64 = 1
        _ = write(wakeFD, &one, 8)
    }

    // MARK: The loop's thread

    private func run() {
        let events = Epoll.EventBuffer(capacity: 64)
        defer {
            events.deallocate()
            close(epfd)
            close(wakeFD)
        }
        while true {
            let n = Epoll.wait(epfd, events, timeoutMs: waitMilliseconds())
            for i in 0..<Int(max(0, n)) {
                let (fd, tag, bits) = events.event(i)
                if fd == wakeFD {
                    var value: UInt64 = 0
                    _ = read(wakeFD, &value, 8)
                    continue
                }
                guard Int(tag) < sessions.count else { continue }
                let s = sessions[Int(tag)]
                guard let live = s.live, live.connection.fileDescriptor == fd else { continue }
                if bits & Epoll.output != 0 { writable(s) }
                if bits & (Epoll.input | Epoll.hangUp | Epoll.error) != 0 { readable(s) }
            }
            guard handleInbox() else { return shutDown() }
            expireDeadlines()
        }
    }

    /// Carries out posted commands; false once asked to stop.
    private func handleInbox() -> Bool {
        let commands = inbox.withLock { commands in
            defer { commands.removeAll(keepingCapacity: true) }
            return commands
        }
        for command in commands {
            switch command {
            case .send(let index, let job):
                sessions[index].jobs.append(job)
                startNext(sessions[index])
            case .opened(let index, let opening):
                opened(sessions[index], opening)
            case .quitAll(let done):
                quitWaiters.append(done)
                for s in sessions where s.live != nil { s.quitRequested = true }
                for s in sessions { startNext(s) }
            case .stop:
                return false
            }
        }
        notifyQuitWaiters()
        return true
    }

    private func shutDown() {
        for s in sessions {
            teardown(s)
            let jobs = (s.current.map { [$0] } ?? []) + s.jobs
            s.current = nil
            s.jobs = []
            for job in jobs { finish(s.index, job, .temporary(reason: "the SMTP transport was shut down")) }
        }
        let waiters = quitWaiters
        quitWaiters = []
        for w in waiters { w() }
    }

    private func notifyQuitWaiters() {
        guard !quitWaiters.isEmpty, sessions.allSatisfy({ !$0.quitRequested && !$0.quitting }) else { return }
        let waiters = quitWaiters
        quitWaiters = []
        for w in waiters { w() }
    }

    /// Milliseconds until the nearest reply deadline; -1 (wait for I/O) when none is due.
    private func waitMilliseconds() -> Int32 {
        guard let nearest = sessions.compactMap(\.deadline).min() else { return -1 }
        let now = DispatchTime.now().uptimeNanoseconds
        guard nearest > now else { return 0 }
        return Int32(min(UInt64(Int32.max), (nearest - now + 999_999) / 1_000_000))
    }

    private func expireDeadlines() {
        let now = DispatchTime.now().uptimeNanoseconds
        for s in sessions {
            guard let deadline = s.deadline, deadline <= now else { continue }
            fail(s, reason: SMTPConnectionError.timedOut.description)
        }
        notifyQuitWaiters()
    }

    // MARK: Sessions

    /// Starts the next message (opening a connection first when there is none), or QUIT when
    /// asked and idle.
    private func startNext(_ s: Session) {
        while s.current == nil, !s.quitting {
            if s.jobs.isEmpty {
                guard s.quitRequested else { return }
                s.quitRequested = false
                guard let live = s.live, live.machine.isReady else {
                    teardown(s)
                    return
                }
                s.quitting = true
                perform(s, live.machine.quit())
                return
            }
            guard let live = s.live else {
                guard !s.opening else { return }
                s.opening = true
                let opener = s.opener
                let index = s.index
                openQueue.async { [self] in post(.opened(index, opener.client.open())) }
                return
            }
            let job = s.jobs.removeFirst()
            s.current = job
            s.reused = !s.fresh
            s.fresh = false
            perform(s, live.machine.beginTransaction(from: job.sender, to: job.recipients, message: job.data))
        }
    }

    private func opened(_ s: Session, _ opening: SMTPOpening) {
        s.opening = false
        switch opening {
        case .ready(let live):
            live.connection.makeNonBlocking()
            guard
                Epoll.control(epfd, Epoll.add, live.connection.fileDescriptor, events: Epoll.input, tag: UInt32(s.index))
                    == 0
            else {
                live.connection.close()
                failHead(s, .temporary(reason: "cannot poll the SMTP connection"))
                return startNext(s)
            }
            s.live = live
            s.fresh = true
        case .failed(let outcome):
            failHead(s, outcome)
        }
        startNext(s)
    }

    /// Finishes the first queued message with the failure to open its connection.
    private func failHead(_ s: Session, _ outcome: SendOutcome) {
        guard !s.jobs.isEmpty else { return }
        finish(s.index, s.jobs.removeFirst(), outcome)
    }

    /// Carries out the machine's actions until it waits for the server or the message is done.
    private func perform(_ s: Session, _ first: SMTPSessionMachine.Action) {
        var action = first
        while let live = s.live {
            switch action {
            case .send(let bytes):
                do {
                    setWriting(s, !(try live.connection.queue(bytes)))
                } catch {
                    action = live.machine.connectionFailed(reason: error.description)
                    continue
                }
                s.deadline = DispatchTime.now().uptimeNanoseconds + commandTimeout
                guard let next = nextReply(live) else { return }
                action = next
            case .receive:
                guard let next = nextReply(live) else {
                    live.connection.acknowledgeNow()
                    s.deadline = DispatchTime.now().uptimeNanoseconds + commandTimeout
                    return
                }
                action = next
            case .messageFinished(let outcome):
                s.deadline = nil
                if !live.machine.isReady { teardown(s) }
                finishCurrent(s, outcome)
                return
            case .failed(let outcome, let nothingSent):
                teardown(s)
                if var job = s.current, s.reused, nothingSent, job.attempt == 1 {
                    // A reused session the server had dropped: once more on a fresh connection.
                    job.attempt = 2
                    s.current = nil
                    s.jobs.insert(job, at: 0)
                } else {
                    finishCurrent(s, outcome)
                }
                return
            case .closed:
                teardown(s)
                finishCurrent(s, .temporary(reason: "unexpected SMTP session state (closed)"))
                return
            case .startTLS, .ready:
                teardown(s)
                finishCurrent(s, .temporary(reason: "unexpected SMTP session state (\(action))"))
                return
            }
        }
    }

    /// The machine's answer to the next complete reply, if one has arrived.
    private func nextReply(_ live: SMTPReadySession) -> SMTPSessionMachine.Action? {
        do {
            guard let reply = try live.parser.next() else { return nil }
            return live.machine.receive(reply)
        } catch {
            return live.machine.connectionFailed(reason: error.description)
        }
    }

    private func readable(_ s: Session) {
        guard let live = s.live else { return }
        while true {
            let count: Int?
            do {
                count = try live.connection.readAvailable(into: &readBuffer)
            } catch {
                return fail(s, reason: error.description)
            }
            guard let count else { break }
            if count == 0 { return fail(s, reason: SMTPConnectionError.closedByServer.description) }
            live.parser.append(readBuffer[0..<count])
        }
        if s.current != nil || s.quitting {
            if let action = nextReply(live) { perform(s, action) }
            startNext(s)
        } else if live.parser.hasPartialReply {
            // Something from the server on an idle session (a 421 before it hangs up): start
            // the next message on a new connection.
            teardown(s)
        }
    }

    private func writable(_ s: Session) {
        guard let live = s.live else { return }
        do {
            setWriting(s, !(try live.connection.flushQueued()))
        } catch {
            fail(s, reason: error.description)
        }
    }

    /// The connection failed: the machine decides what that means for the current message.
    private func fail(_ s: Session, reason: String) {
        if let live = s.live, s.current != nil || s.quitting {
            perform(s, live.machine.connectionFailed(reason: reason))
        } else {
            teardown(s)
        }
        startNext(s)
    }

    private func setWriting(_ s: Session, _ on: Bool) {
        guard on != s.writing, let live = s.live else { return }
        s.writing = on
        Epoll.control(
            epfd, Epoll.modify, live.connection.fileDescriptor, events: on ? Epoll.input | Epoll.output : Epoll.input,
            tag: UInt32(s.index))
    }

    private func teardown(_ s: Session) {
        s.deadline = nil
        s.writing = false
        s.quitting = false
        guard let live = s.live else { return }
        Epoll.control(epfd, Epoll.delete, live.connection.fileDescriptor, events: 0)
        live.connection.close()
        s.live = nil
    }

    private func finishCurrent(_ s: Session, _ outcome: SendOutcome) {
        guard let job = s.current else { return }
        s.current = nil
        finish(s.index, job, outcome)
    }

    private func finish(_ index: Int, _ job: SMTPJob, _ outcome: SendOutcome) {
        counters[index].value.subtract(1, ordering: .relaxed)
        job.completion(outcome)
    }
}
