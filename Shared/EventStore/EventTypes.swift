import Foundation
import JSON
import Postgres

/// An event to append. Data and metadata are serialized once, by the caller.
///
/// The fields live in one shared, immutable box: an event is copied into streams, units and
/// planned rows on its way to the database, and one reference costs less to copy than seven.
public struct NewEvent: Sendable {
    final class Storage: Sendable {
        let id: UUID
        let type: String
        /// The trees the event was built from; nil when it was built from bytes.
        let trees: (data: JSON, metadata: JSON)?
        let keyID: UUID?
        /// The compact JSON of `data` and `metadata`, serialized once (UTF-8).
        let dataBytes: [UInt8]
        let metadataBytes: [UInt8]

        init(id: UUID, type: String, trees: (data: JSON, metadata: JSON)?, dataBytes: [UInt8], metadataBytes: [UInt8], keyID: UUID?) {
            self.id = id
            self.type = type
            self.trees = trees
            self.keyID = keyID
            self.dataBytes = dataBytes
            self.metadataBytes = metadataBytes
        }
    }

    let storage: Storage

    public var id: UUID { storage.id }
    public var type: String { storage.type }
    /// The data (parsed from its bytes on each use when the event was built from bytes).
    public var data: JSON { storage.trees?.data ?? (try? JSON.parse(storage.dataBytes)) ?? .null }
    /// The metadata (parsed from its bytes on each use when the event was built from bytes).
    public var metadata: JSON { storage.trees?.metadata ?? (try? JSON.parse(storage.metadataBytes)) ?? .null }
    /// The personal-data key the event's sealed part is encrypted with. The append is refused
    /// (`AppendError.keyDestroyed`) when that key no longer exists, so nothing is ever written
    /// under a key that an erasure destroyed.
    public var keyID: UUID? { storage.keyID }
    var dataBytes: [UInt8] { storage.dataBytes }
    var metadataBytes: [UInt8] { storage.metadataBytes }

    public init(
        id: UUID = RandomUUID.makeTimeOrdered(), type: String, data: JSON, metadata: JSON = .object([:]), keyID: UUID? = nil
    ) {
        storage = Storage(
            id: id, type: type, trees: (data, metadata), dataBytes: data.bytes, metadataBytes: metadata.bytes, keyID: keyID)
    }

    /// An event whose data and metadata the caller serialized itself: each a compact JSON
    /// object, UTF-8 (for hot paths that write the bytes without building a tree first).
    public init(id: UUID, type: String, serializedData: [UInt8], serializedMetadata: [UInt8], keyID: UUID? = nil) {
        storage = Storage(
            id: id, type: type, trees: nil, dataBytes: serializedData, metadataBytes: serializedMetadata, keyID: keyID)
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
    /// Whether the appender should remember the stream's head even when it is created with
    /// `.noStream` (such streams are not remembered by default: most are one-off, a tracked
    /// event's for one). For a new stream this process appends to again soon (a message's
    /// stream, which the outbox worker then appends `queued` and `sent` to), so that the next
    /// append needs no lookup of the head.
    public let remembersHead: Bool

    public init(
        tenant: String, stream: String, expected: ExpectedVersion = .any, events: [NewEvent], remembersHead: Bool = false
    ) {
        self.tenant = tenant
        self.stream = stream
        self.expected = expected
        self.events = events
        self.remembersHead = remembersHead
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

    /// Commit time as unix milliseconds.
    public var recordedAtMilliseconds: Int64 { Int64(recordedAt * 1000) }

    /// When the event says it happened: `occurred_at` in its data (unix milliseconds, a number or
    /// a numeric string), else its commit time.
    public var occurredAtMilliseconds: Int64 {
        switch data["occurred_at"] {
        case .number(let n)?: Int64(n) ?? JSON.number(n).intValue.map(Int64.init) ?? recordedAtMilliseconds
        case .string(let s)?: Int64(s) ?? recordedAtMilliseconds
        default: recordedAtMilliseconds
        }
    }

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

    /// The checkpoint in columns `column` (`tx_id::text`) and `column + 1` (`position`) of a row.
    public init(_ row: PostgresRow, at column: Int) {
        self.init(transactionID: UInt64(row[column] ?? "0") ?? 0, position: row.int64(column + 1) ?? 0)
    }

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
