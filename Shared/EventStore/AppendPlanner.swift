import Foundation

/// The pure part of group commit: given the atomic appends gathered into one transaction, the
/// event ids that already exist and each stream's current version, decide which rows to insert
/// and what each append's outcome is. A refused append never spoils its neighbours.
struct AppendPlanner {
    /// A stream's identity. Its hash is computed once, when the key is made: a batch looks each
    /// stream up in several dictionaries, and hashing both strings every time showed in
    /// profiles of batch appends.
    struct StreamKey: Hashable {
        let tenant: String
        let stream: String
        private let hash: Int

        init(tenant: String, stream: String) {
            self.tenant = tenant
            self.stream = stream
            var h = Hasher()
            h.combine(tenant)
            h.combine(stream)
            hash = h.finalize()
        }

        static func == (a: StreamKey, b: StreamKey) -> Bool {
            a.hash == b.hash && a.tenant == b.tenant && a.stream == b.stream
        }

        func hash(into hasher: inout Hasher) { hasher.combine(hash) }
    }

    struct ExistingEvent {
        let position: Int64
        let transactionID: UInt64
        let tenant: String
        let stream: String
        let version: Int64
    }

    /// A row to insert: unit index, stream index within the unit, event index within the stream.
    struct Row {
        let unit: Int
        let streamIndex: Int
        let event: NewEvent
        let key: StreamKey
        let version: Int64

        var tenant: String { key.tenant }
        var stream: String { key.stream }
    }

    enum Outcome {
        case insert
        case duplicate(AppendResult)
        /// Same event ids as an earlier unit of this batch: answered with that unit's result.
        case duplicateOf(unit: Int)
        case refused(AppendError)
    }

    /// Every stream key named by the units, deduplicated, in first-seen order.
    static func streamKeys(_ units: [[StreamAppend]]) -> [StreamKey] { streamKeys(keysByUnit(units)) }

    /// Each unit's stream keys, stream by stream (each key hashed once, here).
    static func keysByUnit(_ units: [[StreamAppend]]) -> [[StreamKey]] {
        units.map { u in u.map { StreamKey(tenant: $0.tenant, stream: $0.stream) } }
    }

    /// The keys of `keysByUnit`, deduplicated, in first-seen order; without the streams `units`
    /// append with `.noStream` when `skippingNoStreamOf` is given.
    static func streamKeys(_ keysByUnit: [[StreamKey]], skippingNoStreamOf units: [[StreamAppend]]? = nil) -> [StreamKey] {
        var seen = Set<StreamKey>()
        var keys: [StreamKey] = []
        for (u, unitKeys) in keysByUnit.enumerated() {
            for (si, k) in unitKeys.enumerated() where units?[u][si].expected != .noStream && seen.insert(k).inserted {
                keys.append(k)
            }
        }
        return keys
    }

    /// `keys`: `keysByUnit(units)` when the caller has it already. `newIfNoStream`: plan every
    /// `.noStream` stream as new (version 1 on) without consulting or advancing `heads`, for
    /// when they were not looked up; the database refuses one that exists or that two appends
    /// of the batch share (both take version 1), and the caller plans again from a lookup.
    static func plan(
        units: [[StreamAppend]], existing: [UUID: ExistingEvent], heads: [StreamKey: Int64],
        liveKeys: Set<UUID> = [], keys keysByUnit: [[StreamKey]]? = nil, newIfNoStream: Bool = false
    ) -> (outcomes: [Outcome], rows: [Row]) {
        var heads = heads
        var plannedIDs: [UUID: Int] = [:]
        var outcomes: [Outcome] = []
        var rows: [Row] = []
        outcomes.reserveCapacity(units.count)

        for (u, unit) in units.enumerated() {
            let ids = unit.flatMap { $0.events.map { $0.id } }
            if ids.isEmpty {
                outcomes.append(.refused(.invalid("nothing to append")))
                continue
            }
            let found = existing.isEmpty ? [] : ids.compactMap { existing[$0] }
            if found.count == ids.count {
                outcomes.append(.duplicate(result(forExisting: found, unit: unit)))
                continue
            }
            if !found.isEmpty {
                outcomes.append(.refused(.partialDuplicate))
                continue
            }
            if let earlier = plannedIDs[ids[0]], ids.allSatisfy({ plannedIDs[$0] == earlier }) {
                outcomes.append(.duplicateOf(unit: earlier))
                continue
            }
            if ids.contains(where: { plannedIDs[$0] != nil }) || (ids.count > 1 && Set(ids).count != ids.count) {
                outcomes.append(.refused(.partialDuplicate))
                continue
            }
            if unit.contains(where: { $0.events.contains { e in e.keyID.map { !liveKeys.contains($0) } ?? false } }) {
                outcomes.append(.refused(.keyDestroyed))
                continue
            }
            // Check every stream of the unit before planning any row (all or nothing): advance
            // `heads` stream by stream, and put back what was changed if one is refused.
            var firstVersions: [Int64] = []
            firstVersions.reserveCapacity(unit.count)
            var keys: [StreamKey] = []
            keys.reserveCapacity(unit.count)
            var previous: [(StreamKey, Int64?)] = []
            previous.reserveCapacity(unit.count)
            var refusal: AppendError?
            for (si, s) in unit.enumerated() {
                let k = keysByUnit?[u][si] ?? StreamKey(tenant: s.tenant, stream: s.stream)
                if newIfNoStream && s.expected == .noStream {
                    keys.append(k)
                    firstVersions.append(1)
                    continue
                }
                let old = heads[k]
                let head = old ?? 0
                if !s.expected.admits(head: head) {
                    refusal = .wrongExpectedVersion(stream: s.stream, expected: s.expected, actual: head)
                    break
                }
                previous.append((k, old))
                keys.append(k)
                firstVersions.append(head + 1)
                heads[k] = head + Int64(s.events.count)
            }
            if let refusal {
                for (k, old) in previous.reversed() { heads[k] = old }
                outcomes.append(.refused(refusal))
                continue
            }
            for (si, s) in unit.enumerated() {
                var version = firstVersions[si]
                for e in s.events {
                    rows.append(Row(unit: u, streamIndex: si, event: e, key: keys[si], version: version))
                    plannedIDs[e.id] = u
                    version += 1
                }
            }
            outcomes.append(.insert)
        }
        return (outcomes, rows)
    }

    static func result(forExisting found: [ExistingEvent], unit: [StreamAppend]) -> AppendResult {
        var streams: [AppendedStream] = []
        var index = 0
        for s in unit {
            let slice = found[index..<(index + s.events.count)]
            index += s.events.count
            streams.append(
                AppendedStream(stream: s.stream, positions: slice.map(\.position), lastVersion: slice.map(\.version).max() ?? 0))
        }
        let last = found.max { Checkpoint(transactionID: $0.transactionID, position: $0.position) < Checkpoint(transactionID: $1.transactionID, position: $1.position) }!
        return AppendResult(
            streams: streams, wasDuplicate: true,
            checkpoint: Checkpoint(transactionID: last.transactionID, position: last.position))
    }
}
