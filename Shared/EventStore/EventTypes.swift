import Foundation
import JSON

/// An event to append. Data and metadata are serialized once, by the caller.
public struct NewEvent: Sendable {
    public let id: UUID
    public let type: String
    public let data: JSON
    public let metadata: JSON
    /// The personal-data key the event's sealed part is encrypted with. The append is refused
    /// (`AppendError.keyDestroyed`) when that key no longer exists, so nothing is ever written
    /// under a key that an erasure destroyed.
    public let keyID: UUID?
    let dataText: String
    let metadataText: String

    public init(id: UUID = RandomUUID.make(), type: String, data: JSON, metadata: JSON = .object([:]), keyID: UUID? = nil) {
        self.id = id
        self.type = type
        self.data = data
        self.metadata = metadata
        self.keyID = keyID
        self.dataText = data.text
        self.metadataText = metadata.text
    }
}

/// What a stream must look like for an append to go ahead (optimistic concurrency).
public enum ExpectedVersion: Sendable, Equatable {
    /// No check.
    case any
    /// The stream must have no events.
    case noStream
    /// The stream must have at least one event.
    case streamExists
    /// The stream's last version must be exactly this.
    case exact(Int64)

    func admits(head: Int64) -> Bool {
        switch self {
        case .any: return true
        case .noStream: return head == 0
        case .streamExists: return head > 0
        case .exact(let v): return head == v
        }
    }
}

/// Events for one stream, appended together.
public struct StreamAppend: Sendable {
    public let tenant: String
    public let stream: String
    public let expected: ExpectedVersion
    public let events: [NewEvent]

    public init(tenant: String, stream: String, expected: ExpectedVersion = .any, events: [NewEvent]) {
        self.tenant = tenant
        self.stream = stream
        self.expected = expected
        self.events = events
    }
}

/// An event as stored.
public struct RecordedEvent: Sendable {
    public let position: Int64
    public let id: UUID
    public let tenant: String
    public let stream: String
    public let version: Int64
    public let type: String
    public let data: JSON
    public let metadata: JSON
    public let transactionID: UInt64
    /// Commit time as unix seconds (fractional).
    public let recordedAt: Double

    /// Where a reader stands after this event.
    public var checkpoint: Checkpoint { Checkpoint(transactionID: transactionID, position: position) }
}

/// A place in the global commit order: (committing transaction id, position). Reading in this
/// order never skips an event (see `EventReader`).
public struct Checkpoint: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let transactionID: UInt64
    public let position: Int64

    public init(transactionID: UInt64, position: Int64) {
        self.transactionID = transactionID
        self.position = position
    }

    public static let start = Checkpoint(transactionID: 0, position: 0)

    public static func < (a: Checkpoint, b: Checkpoint) -> Bool {
        (a.transactionID, a.position) < (b.transactionID, b.position)
    }

    /// The opaque text of a consistency token (`X-Consistency-Token`).
    public var description: String { "\(transactionID).\(position)" }

    /// Parses a consistency token; nil when it is not one.
    public init?(token: String) {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, let t = UInt64(parts[0]), let p = Int64(parts[1]), p >= 0 else { return nil }
        self.init(transactionID: t, position: p)
    }
}

/// What an append achieved for one stream.
public struct AppendedStream: Sendable {
    public let stream: String
    public let positions: [Int64]
    /// The stream's version after the append.
    public let lastVersion: Int64
}

/// What an atomic append achieved.
public struct AppendResult: Sendable {
    public let streams: [AppendedStream]
    /// True when every event id already existed: nothing was written and `streams` reports the
    /// original positions.
    public let wasDuplicate: Bool
    /// The consistency token of the last event (read-your-writes).
    public let checkpoint: Checkpoint
}

/// Why an append was refused.
public enum AppendError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The stream was not at the expected version.
    case wrongExpectedVersion(stream: String, expected: ExpectedVersion, actual: Int64)
    /// Some but not all of the event ids already exist.
    case partialDuplicate
    /// The append is empty or too large.
    case invalid(String)
    /// An event names a personal-data key that was destroyed (the subject was erased meanwhile).
    case keyDestroyed

    public var description: String {
        switch self {
        case .wrongExpectedVersion(_, let expected, let actual):
            return "wrong expected version (expected \(expected), stream is at \(actual))"
        case .partialDuplicate: return "some of the event ids were already appended"
        case .invalid(let why): return why
        case .keyDestroyed: return "the personal-data key was destroyed"
        }
    }
}
