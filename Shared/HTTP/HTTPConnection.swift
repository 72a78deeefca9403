/// The state of one client connection. Owned and touched only by its I/O thread.
final class HTTPConnection {
    /// What a queued response slot still needs to know when its response arrives.
    struct PendingInfo {
        let method: String
        let route: String
        let requestID: String
        let version: HTTPVersion
        let keepAlive: Bool
        let started: UInt64
    }

    /// One response position in pipelining order: ready bytes, or waiting for a handler.
    struct Slot {
        let sequence: UInt64
        var bytes: [UInt8]?
        var closeAfter: Bool
        let info: PendingInfo?
    }

    let fd: Int32
    /// Distinguishes this connection from a later one that reuses the same descriptor.
    let id: UInt64
    /// The low bits of `id`, stored with the descriptor in the epoll registration.
    var tag: UInt32 { UInt32(truncatingIfNeeded: id) }
    var parser: HTTPRequestParser

    /// Received bytes; `input[inStart..<inEnd]` is not yet consumed.
    var input: [UInt8]
    var inStart = 0
    var inEnd = 0

    /// Responses in request order; the first one is written as soon as it is ready.
    var slots: [Slot] = []
    var slotsHead = 0
    var nextSequence: UInt64 = 0

    /// Bytes to send; `output[outOffset...]` is not yet written.
    var output: [UInt8] = []
    var outOffset = 0
    var waitingForWritable = false

    /// A response that closes the connection is queued: parse nothing more.
    var closeQueued = false
    /// The output ends with a response that closes the connection.
    var closeAfterOutput = false
    /// The descriptor has been closed; ignore any further work for this connection.
    var closed = false
    /// The peer sent EOF.
    var peerClosed = false
    /// Reading stopped because too many requests are waiting for handlers.
    var readPaused = false
    /// After the last response: our side is shut down, reads are discarded until this deadline.
    var lingerUntil: UInt64 = 0
    /// The latest `lingerUntil` may be pushed to while the client keeps sending.
    var lingerLimit: UInt64 = 0
    /// When the first byte of an unfinished request arrived (0: none).
    var requestStarted: UInt64 = 0
    var lastActivity: UInt64

    init(fd: Int32, id: UInt64, limits: HTTPRequestParser.Limits, now: UInt64) {
        self.fd = fd
        self.id = id
        self.parser = HTTPRequestParser(limits: limits)
        self.input = Array(repeating: 0, count: 4096)
        self.lastActivity = now
    }

    var pendingSlots: Int { slots.count - slotsHead }
    var hasUnsentOutput: Bool { outOffset < output.count }
    var hasBufferedInput: Bool { inEnd > inStart }

    /// Nothing in flight, nothing to send, no partial request.
    var isIdle: Bool { pendingSlots == 0 && !hasUnsentOutput && !hasBufferedInput && lingerUntil == 0 }

    /// Makes room for at least `minimum` more bytes after `inEnd`.
    func reserveInput(_ minimum: Int) {
        if input.count - inEnd >= minimum { return }
        if inStart > 0 {
            let live = inEnd - inStart
            if live > 0 {
                input.withUnsafeMutableBufferPointer { p in
                    let base = p.baseAddress!
                    (base).update(from: base + inStart, count: live)
                }
            }
            inStart = 0
            inEnd = live
            if input.count - inEnd >= minimum { return }
        }
        var newCount = input.count * 2
        while newCount - inEnd < minimum { newCount *= 2 }
        input.append(contentsOf: repeatElement(0, count: newCount - input.count))
    }

    /// Marks `count` input bytes as consumed.
    func consume(_ count: Int) {
        inStart += count
        if inStart == inEnd {
            inStart = 0
            inEnd = 0
            // Give back the memory of a large upload once it is consumed.
            if input.count > 65536 { input = Array(repeating: 0, count: 4096) }
        }
    }

    /// Appends a slot and returns its sequence number.
    func appendSlot(bytes: [UInt8]?, closeAfter: Bool, info: PendingInfo?) -> UInt64 {
        let sequence = nextSequence
        nextSequence += 1
        slots.append(Slot(sequence: sequence, bytes: bytes, closeAfter: closeAfter, info: info))
        return sequence
    }

    /// The index in `slots` of the slot numbered `sequence`, if still queued.
    func slotIndex(_ sequence: UInt64) -> Int? {
        guard slotsHead < slots.count else { return nil }
        let first = slots[slotsHead].sequence
        guard sequence >= first else { return nil }
        let index = slotsHead + Int(sequence - first)
        return index < slots.count ? index : nil
    }

    /// Moves ready slots at the head of the queue into `output`. Returns true when a slot that
    /// closes the connection was moved.
    func collectReadySlots() -> Bool {
        var closing = false
        while slotsHead < slots.count, let bytes = slots[slotsHead].bytes {
            if output.isEmpty { output = bytes } else { output.append(contentsOf: bytes) }
            let close = slots[slotsHead].closeAfter
            slotsHead += 1
            if close {
                closing = true
                break
            }
        }
        if slotsHead == slots.count {
            slots.removeAll(keepingCapacity: true)
            slotsHead = 0
        } else if slotsHead > 64 {
            slots.removeFirst(slotsHead)
            slotsHead = 0
        }
        return closing
    }
}
