import Synchronization

/// Saved template versions by (tenant, version id). Versions are immutable, so an entry never
/// goes stale; the cache is bounded and simply emptied when full.
final class TemplateVersionCache: Sendable {
    static let capacity = 10_000
    private let entries = Mutex<[String: TemplateVersionRecord]>([:])

    func get(tenant: String, id: String) -> TemplateVersionRecord? {
        entries.withLock { $0[tenant + "\u{0}" + id] }
    }

    func put(tenant: String, _ version: TemplateVersionRecord) {
        entries.withLock {
            if $0.count >= Self.capacity { $0.removeAll() }
            $0[tenant + "\u{0}" + version.id] = version
        }
    }
}
