/// The last version of streams this appender wrote or looked up, so a batch whose streams are
/// all known skips the lookup round trip.
///
/// A cached head can only be stale by being too LOW (another writer appended since; the table
/// never loses events), and versions are dense, so planning from a stale head makes the INSERT
/// collide on `(tenant, stream, version)`: the appender then forgets these heads and plans again
/// from a fresh lookup. Not thread-safe: owned by the appender under its lock.
struct StreamHeadCache {
    /// Most streams remembered; beyond, the cache starts over (it is only an optimisation).
    let capacity: Int
    private var heads: [AppendPlanner.StreamKey: Int64] = [:]

    init(capacity: Int = 100_000) { self.capacity = capacity }

    var count: Int { heads.count }

    /// The cached head of `key`, nil when unknown.
    subscript(key: AppendPlanner.StreamKey) -> Int64? { heads[key] }

    /// Records heads known to be committed (looked up, or written by a committed batch).
    mutating func record(_ known: [AppendPlanner.StreamKey: Int64]) {
        if heads.count + known.count > capacity { heads.removeAll(keepingCapacity: true) }
        for (k, v) in known where heads[k].map({ v > $0 }) ?? true { heads[k] = v }
    }

    /// Forgets `keys` (after a collision, or when a batch's outcome is unknown).
    mutating func forget(_ keys: some Sequence<AppendPlanner.StreamKey>) {
        for k in keys { heads[k] = nil }
    }

    mutating func removeAll() { heads.removeAll() }
}
