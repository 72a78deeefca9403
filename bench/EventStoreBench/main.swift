// Event store append benchmark: group commit against one transaction per event, with many
// concurrent appenders of single events. Not a test: run `bench/eventstore.sh`, which starts a
// durable PostgreSQL (fsync and synchronous_commit on) and calls this with DATABASE_URL.
//
// Usage: eventstore-bench [--appenders N] [--seconds S] [--mode group|single|both]
import EventStore
import Foundation
import JSON
import Postgres

struct Options {
    var appenders = 64
    var seconds = 10.0
    var mode = "both"
    var committers = 2

    init(_ args: [String]) {
        var i = 1
        while i < args.count {
            let v = i + 1 < args.count ? args[i + 1] : ""
            switch args[i] {
            case "--appenders": appenders = Int(v) ?? appenders
            case "--seconds": seconds = Double(v) ?? seconds
            case "--mode": mode = v
            case "--committers": committers = Int(v) ?? committers
            default: break
            }
            i += 2
        }
    }
}

/// Latencies in microseconds, collected per task and merged.
func percentile(_ sorted: [Double], _ p: Double) -> Double {
    guard !sorted.isEmpty else { return 0 }
    return sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
}

struct Result {
    let mode: String
    let events: Int
    let seconds: Double
    let latencies: [Double]
    let transactions: Int
    var rate: Double { Double(events) / seconds }
    var line: String {
        let s = latencies.sorted()
        return String(
            format: "| %@ | %d | %.0f | %.2f | %.2f | %.2f | %d |", mode, events, rate, percentile(s, 0.5) / 1000,
            percentile(s, 0.99) / 1000, percentile(s, 0.999) / 1000, transactions)
    }
}

let options = Options(CommandLine.arguments)
guard let url = ProcessInfo.processInfo.environment["DATABASE_URL"] else {
    FileHandle.standardError.write(Data("DATABASE_URL is required\n".utf8))
    exit(2)
}

let payload: JSON = ["subject": "0123456789abcdef0123456789abcdef", "name": "purchased", "occurred_at": 1_700_000_000_000,
                     "sealed": .string(String(repeating: "A", count: 120))]

func runGroup() async throws -> Result {
    var c = EventStore.Configuration(url: url)
    c.committers = options.committers
    let store = EventStore(configuration: c)
    try await store.migrate()
    let before = try await store.pool.execute("SELECT count(DISTINCT tx_id) FROM events")[0].int(0) ?? 0
    let deadline = Date().addingTimeInterval(options.seconds)
    let start = Date()
    let all = try await withThrowingTaskGroup(of: [Double].self) { group in
        for a in 0..<options.appenders {
            group.addTask {
                var lat: [Double] = []
                var i = 0
                while Date() < deadline {
                    let t0 = DispatchTime.now().uptimeNanoseconds
                    try await store.append(
                        StreamAppend(tenant: "bench", stream: "group-\(a)-\(i % 1000)", events: [NewEvent(type: "customer.event_tracked", data: payload)]))
                    lat.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1000)
                    i += 1
                }
                return lat
            }
        }
        var out: [Double] = []
        for try await l in group { out += l }
        return out
    }
    let elapsed = Date().timeIntervalSince(start)
    let after = try await store.pool.execute("SELECT count(DISTINCT tx_id) FROM events")[0].int(0) ?? 0
    store.shutdown()
    return Result(mode: "group commit", events: all.count, seconds: elapsed, latencies: all, transactions: after - before)
}

func runSingle() async throws -> Result {
    let pool = PostgresPool(configuration: .init(url: url, size: 16))
    let deadline = Date().addingTimeInterval(options.seconds)
    let start = Date()
    let data = payload.text
    let all = try await withThrowingTaskGroup(of: [Double].self) { group in
        for a in 0..<options.appenders {
            group.addTask {
                var lat: [Double] = []
                var i = 0
                while Date() < deadline {
                    let t0 = DispatchTime.now().uptimeNanoseconds
                    let stream = "single-\(a)-\(i)"
                    try await pool.execute(
                        """
                        INSERT INTO events (event_id, tenant, stream, version, type, data, metadata)
                        VALUES ($1, 'bench', $2, 1, 'customer.event_tracked', $3, '{}')
                        """, [UUID(), stream, data])
                    lat.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1000)
                    i += 1
                }
                return lat
            }
        }
        var out: [Double] = []
        for try await l in group { out += l }
        return out
    }
    let elapsed = Date().timeIntervalSince(start)
    pool.shutdown()
    return Result(mode: "one transaction per event (pool of 16)", events: all.count, seconds: elapsed, latencies: all, transactions: all.count)
}

var results: [Result] = []
do {
    if options.mode == "group" || options.mode == "both" { results.append(try await runGroup()) }
    if options.mode == "single" || options.mode == "both" { results.append(try await runSingle()) }
} catch {
    FileHandle.standardError.write(Data("benchmark failed: \(error)\n".utf8))
    exit(1)
}
print("appenders: \(options.appenders), seconds: \(options.seconds), committers: \(options.committers)")
print("| mode | events | events/s | p50 ms | p99 ms | p99.9 ms | transactions |")
print("|---|---|---|---|---|---|---|")
for r in results { print(r.line) }
