// Event store append benchmark: group commit against one transaction per event, with many
// concurrent appenders of single events. Not a test: run `bench/eventstore.sh`, which starts a
// durable PostgreSQL (fsync and synchronous_commit on) and calls this with DATABASE_URL.
//
// Usage: eventstore-bench [--appenders N] [--seconds S] [--mode group|single|both] [--committers N]
//        [--streams N]
import EventStore
import Foundation
import JSON
import Postgres

struct Options {
    var appenders = 64
    var seconds = 10.0
    var mode = "both"
    var committers = 1
    /// Streams the group-commit appenders write to (shared by all; ingest's load has 1,000 customers).
    var streams = 1_000

    init(_ args: [String]) {
        var i = 1
        while i < args.count {
            let v = i + 1 < args.count ? args[i + 1] : ""
            switch args[i] {
            case "--appenders": appenders = Int(v) ?? appenders
            case "--seconds": seconds = Double(v) ?? seconds
            case "--mode": mode = v
            case "--committers": committers = Int(v) ?? committers
            case "--streams": streams = max(1, Int(v) ?? streams)
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

/// CPU ticks (utime+stime) of a process, from /proc; 0 when gone.
func ticks(_ pid: Int) -> Int {
    guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
        let close = text.lastIndex(of: ")")
    else { return 0 }
    let fields = text[text.index(after: close)...].split(separator: " ")
    // After "pid (comm)": state is field 3, utime field 14, stime field 15.
    guard fields.count > 13, let u = Int(fields[11]), let s = Int(fields[12]) else { return 0 }
    return u + s
}

/// CPU ticks of every PostgreSQL server process (backends and background workers), by pid.
func postgresTicks(_ pool: PostgresPool) async throws -> [Int: Int] {
    var out: [Int: Int] = [:]
    for r in try await pool.execute("SELECT pid FROM pg_stat_activity").rows {
        if let pid = r.int(0) { out[pid] = ticks(pid) }
    }
    return out
}

/// CPU milliseconds used between two snapshots (processes that appeared count from zero).
func cpuMilliseconds(_ before: [Int: Int], _ after: [Int: Int]) -> Double {
    let t = after.reduce(0) { $0 + $1.value - (before[$1.key] ?? 0) }
    return Double(t) * 1000 / Double(sysconf(Int32(_SC_CLK_TCK)))
}

func selfCPUMilliseconds() -> Double {
    var u = rusage()
    getrusage(RUSAGE_SELF.rawValue, &u)
    return Double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1000 + Double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1000
}

struct Result {
    let mode: String
    let events: Int
    let seconds: Double
    let latencies: [Double]
    let transactions: Int
    var benchCPU = 0.0
    var postgresCPU = 0.0
    var rate: Double { Double(events) / seconds }
    var line: String {
        let s = latencies.sorted()
        return String(
            format: "| %@ | %d | %.0f | %.2f | %.2f | %.2f | %d | %.0f | %.0f |", mode, events, rate, percentile(s, 0.5) / 1000,
            percentile(s, 0.99) / 1000, percentile(s, 0.999) / 1000, transactions,
            benchCPU * 1000 / Double(max(events, 1)), postgresCPU * 1000 / Double(max(events, 1)))
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
    let pgBefore = try await postgresTicks(store.pool)
    let cpuBefore = selfCPUMilliseconds()
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
                        StreamAppend(tenant: "bench", stream: "group-\((a &* 7919 &+ i) % options.streams)", events: [NewEvent(type: "customer.event_tracked", data: payload)]))
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
    let cpuAfter = selfCPUMilliseconds()
    let pgAfter = try await postgresTicks(store.pool)
    let after = try await store.pool.execute("SELECT count(DISTINCT tx_id) FROM events")[0].int(0) ?? 0
    store.shutdown()
    var r = Result(mode: "group commit", events: all.count, seconds: elapsed, latencies: all, transactions: after - before)
    r.benchCPU = cpuAfter - cpuBefore
    r.postgresCPU = cpuMilliseconds(pgBefore, pgAfter)
    return r
}

func runSingle() async throws -> Result {
    let pool = PostgresPool(configuration: .init(url: url, size: 16))
    let deadline = Date().addingTimeInterval(options.seconds)
    let start = Date()
    let data = payload.text
    let pgBefore = try await postgresTicks(pool)
    let cpuBefore = selfCPUMilliseconds()
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
    let cpuAfter = selfCPUMilliseconds()
    let pgAfter = try await postgresTicks(pool)
    pool.shutdown()
    var r = Result(mode: "one transaction per event (pool of 16)", events: all.count, seconds: elapsed, latencies: all, transactions: all.count)
    r.benchCPU = cpuAfter - cpuBefore
    r.postgresCPU = cpuMilliseconds(pgBefore, pgAfter)
    return r
}

var results: [Result] = []
do {
    if options.mode == "group" || options.mode == "both" { results.append(try await runGroup()) }
    if options.mode == "single" || options.mode == "both" { results.append(try await runSingle()) }
} catch {
    FileHandle.standardError.write(Data("benchmark failed: \(error)\n".utf8))
    exit(1)
}
print("appenders: \(options.appenders), seconds: \(options.seconds), committers: \(options.committers), streams: \(options.streams)")
print("| mode | events | events/s | p50 ms | p99 ms | p99.9 ms | transactions | bench CPU ms / 1k events | PostgreSQL CPU ms / 1k events |")
print("|---|---|---|---|---|---|---|---|---|")
for r in results { print(r.line) }
