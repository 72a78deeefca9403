import Crypto
import EventStore
import Foundation
import JSON
import Postgres
import TestSupport
import Testing

/// Issue 9's fault tests on the real executables: kill -9 mid-projection, the database gone
/// for ten seconds under load, kill -9 of the delivery worker while the provider holds a mail.
@Suite(.serialized) struct FaultTests {
    /// Environment shared by every process of one test.
    static func environment(_ url: String, port: Int, extra: [String: String] = [:]) -> [String: String] {
        var env = ["DATABASE_URL": url, "PORT": String(port), "API_KEYS": "site1:key1", "LOG_LEVEL": "error"]
        for (k, v) in extra { env[k] = v }
        return env
    }

    static func healthy(_ client: TestHTTPClient) async -> Bool {
        await eventually(timeout: .seconds(30)) { (try? await client.send("GET", "/healthz").status) == 200 }
    }

    /// Rows of query's read tables, as text, in a stable order.
    static func readTables(_ c: PostgresConnection) throws -> [String] {
        var out: [String] = []
        for (table, order) in [
            ("query_customers", "tenant, subject"), ("query_customer_events", "tenant, position"),
            ("query_logs", "tenant, message_id"), ("query_log_events", "tenant, message_id, position"),
        ] {
            out += try c.execute("SELECT t::text FROM \(table) t ORDER BY \(order)").rows.map { table + " " + ($0[0] ?? "") }
        }
        return out
    }

    /// The checkpoint position of query's read model (nil before it exists).
    static func queryCheckpoint(_ c: PostgresConnection) throws -> Int64? {
        let r = try c.execute("SELECT min(position), count(*) FROM projection_checkpoints WHERE name = 'query'")
        return (r[0].int(1) ?? 0) >= 1 ? r[0].int64(0) : nil
    }

    @Test func queryKilledMidProjectionEqualsARebuildFromZero() async throws {
        let url = try TestPostgres.makeDatabase()
        let masterKey = ["MASTER_KEY": MasterKeyring.generateEntry(id: "fault1")]
        // Data to project: customers created, merged, deleted and recreated, and tracked events.
        let ingestPort = TestPortAllocator.freePort()
        let ingest = try RunningExecutable.spawn("ingest", environment: Self.environment(url, port: ingestPort, extra: masterKey))
        let writer = TestHTTPClient(port: ingestPort, basicAuth: ("site1", "key1"))
        #expect(await Self.healthy(writer))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for w in 0..<8 {
                group.addTask {
                    for i in 0..<FaultScale.pick(250, long: 2_500) {
                        let id = "c\(w)-\(i % 40)"
                        switch i % 10 {
                        case 0: _ = try await writer.send("PUT", "/api/v1/customers/\(id)", form: [("email", "\(id)@example.com"), ("n", "\(i)")])
                        case 7: _ = try await writer.send("DELETE", "/api/v1/customers/\(id)")
                        default:
                            _ = try await writer.send("POST", "/api/v1/customers/\(id)/events", form: [("name", "e\(i)"), ("data[i]", "\(i)")])
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        kill(ingest, SIGTERM)
        #expect(await RunningExecutable.waitForExit(ingest) == 0)
        let c = try PostgresConnection(url: url)
        let last = try c.execute("SELECT max(position) FROM events")[0].int64(0) ?? 0
        #expect(last > 1500)

        // Start query and kill it while its projections are part way.
        let queryPort = TestPortAllocator.freePort()
        let env = Self.environment(url, port: queryPort, extra: masterKey)
        let first = try RunningExecutable.spawn("query", environment: env)
        var killedAt: Int64 = -1
        _ = try await eventually(timeout: FaultScale.seconds(60)) {
            guard let p = try Self.queryCheckpoint(c), p > 0 else { return false }
            kill(first, SIGKILL)
            killedAt = p
            return true
        }
        _ = await RunningExecutable.waitForExit(first)
        #expect(killedAt > 0 && killedAt < last, "killed at \(killedAt) of \(last)")

        // Restart: the projections finish from their checkpoints.
        let second = try RunningExecutable.spawn("query", environment: env)
        #expect(await eventually(timeout: FaultScale.seconds(90)) { (try? Self.queryCheckpoint(c)) == last })
        let resumed = try Self.readTables(c)
        kill(second, SIGTERM)
        #expect(await RunningExecutable.waitForExit(second) == 0)
        #expect(resumed.count > 100)

        // A rebuild from position 0 gives the same rows, row by row.
        let rebuild = try RunningExecutable.spawn("query", environment: env, arguments: ["--rebuild"])
        #expect(await RunningExecutable.waitForExit(rebuild, timeout: FaultScale.seconds(120)) == 0)
        let rebuilt = try Self.readTables(c)
        #expect(rebuilt.count == resumed.count)
        let onlyResumed = Set(resumed).subtracting(rebuilt)
        let onlyRebuilt = Set(rebuilt).subtracting(resumed)
        #expect(onlyResumed.isEmpty && onlyRebuilt.isEmpty, "resumed only: \(onlyResumed.prefix(3)); rebuilt only: \(onlyRebuilt.prefix(3))")
    }

    @Test func databaseDownTenSecondsUnderLoadGives503sAndLosesNothing() async throws {
        let cluster = try PrivateCluster()
        defer { cluster.destroy() }
        let masterKey = ["MASTER_KEY": MasterKeyring.generateEntry(id: "fault2")]
        let ingestPort = TestPortAllocator.freePort()
        let queryPort = TestPortAllocator.freePort()
        let ingest = try RunningExecutable.spawn("ingest", environment: Self.environment(cluster.url, port: ingestPort, extra: masterKey))
        let writer = TestHTTPClient(port: ingestPort, basicAuth: ("site1", "key1"))
        #expect(await Self.healthy(writer))
        let query = try RunningExecutable.spawn("query", environment: Self.environment(cluster.url, port: queryPort, extra: masterKey))
        let reader = TestHTTPClient(port: queryPort, basicAuth: ("site1", "key1"))
        #expect(await Self.healthy(reader))

        let acknowledged = LockedPositions()
        let statuses = StatusCounts()
        let load = Task {
            await withTaskGroup(of: Void.self) { group in
                for worker in 0..<8 {
                    group.addTask {
                        var i = 0
                        while !Task.isCancelled {
                            i += 1
                            guard let r = try? await writer.send(
                                "POST", "/api/v1/customers/w\(worker)/events", form: [("name", "load"), ("data[i]", "\(i)")])
                            else { continue }
                            statuses.add(r.status)
                            if r.status == 200, let t = r.header("X-Consistency-Token").flatMap(Checkpoint.init(token:)) {
                                acknowledged.add(t.position)
                            }
                            if r.status != 200 { try? await Task.sleep(for: .milliseconds(50)) }  // a client's backoff
                        }
                    }
                }
            }
        }
        #expect(await eventually(timeout: .seconds(30)) { acknowledged.count >= 100 })
        try cluster.stop()
        let down = ContinuousClock.now
        #expect(await eventually(timeout: .seconds(10)) { statuses.count(503) >= 10 }, "writes answer 503 while the database is down")
        let readDuringOutage = try? await reader.send("GET", "/api/v1/customers/w0/events")
        #expect(readDuringOutage?.status == 503)
        let ready = try? await writer.send("GET", "/readyz")
        #expect(ready?.status == 503)
        try await Task.sleep(until: down + .seconds(FaultScale.pick(10, long: 60)))  // the outage itself is what is under test
        let acknowledgedBeforeRestart = acknowledged.count
        try cluster.start()
        #expect(await eventually(timeout: .seconds(30)) { acknowledged.count > acknowledgedBeforeRestart + 100 }, "writes recover by themselves")
        load.cancel()
        await load.value
        #expect(statuses.count(500) == 0, "no 500s: \(statuses.summary)")

        // Every acknowledged write is in the table, and query (recovered by itself) has them all.
        let positions = acknowledged.all
        let c = try PostgresConnection(url: cluster.url)
        let found = try c.execute(
            "SELECT count(*) FROM events WHERE position = ANY($1::bigint[]) AND type = 'customer.event_tracked'",
            [PostgresArray(positions)])
        #expect(found[0].int(0) == positions.count)
        let last = try c.execute("SELECT max(position) FROM events")[0].int64(0) ?? 0
        #expect(await eventually(timeout: FaultScale.seconds(30)) { (try? Self.queryCheckpoint(c)) == last }, "query caught up")
        let projected = try c.execute(
            "SELECT count(*) FROM query_customer_events WHERE position = ANY($1::bigint[])", [PostgresArray(positions)])
        #expect(projected[0].int(0) == positions.count)
        #expect(try c.execute("SELECT count(*) FROM projection_failures")[0].int(0) == 0, "no event was set aside")
        for pid in [ingest, query] {
            kill(pid, SIGTERM)
            #expect(await RunningExecutable.waitForExit(pid) == 0)
        }
    }

    @Test func deliveryKilledWhileTheProviderHoldsAMailLosesNoneAndTheStandbyTakesOver() async throws {
        let url = try TestPostgres.makeDatabase()
        let smtp = try SMTPFixture(mode: .slow)
        defer { smtp.stop() }
        let (a, clientA, b, _) = try await Self.twoDeliveryReplicas(url, smtpPort: smtp.port, keyID: "fault3")

        let template = try await clientA.send("POST", "/templates", json: ["name": "T", "subject": "s", "html": "h"])
        let templateID = try #require(template.json["id"]?.stringValue)
        var logs: [String] = []
        for i in 0..<FaultScale.pick(5, long: 40) {
            let r = try await clientA.send(
                "POST", "/send", json: ["email_id": .string(templateID), "recipient": ["address": .string("r\(i)@example.com")]])
            logs.append(try #require(r.json["receipt_id"]?.stringValue))
        }
        // The provider has the first mail but holds its 250: A dies without learning it was taken.
        #expect(await eventually(timeout: .seconds(20)) { ((try? smtp.received().count) ?? 0) >= 1 })
        kill(a, SIGKILL)
        let killed = ContinuousClock.now
        _ = await RunningExecutable.waitForExit(a)

        // B takes over within seconds and sends everything.
        #expect(await eventually(timeout: .seconds(30)) { ((try? smtp.received().count) ?? 0) >= 2 })
        let takeover = ContinuousClock.now - killed
        #expect(takeover < .seconds(15), "standby took \(takeover)")
        let c = try PostgresConnection(url: url)
        let allSent = await eventually(timeout: FaultScale.seconds(60)) {
            let r = try? c.execute(
                "SELECT count(DISTINCT stream) FROM events WHERE type = 'message.sent' AND stream = ANY($1::text[])",
                [PostgresArray(logs.map { "message-" + $0.dropFirst(4) })])
            return r?[0].int(0) == logs.count
        }
        var timelines: [String] = []
        for log in logs {
            let types = try c.execute(
                "SELECT string_agg(type, ',' ORDER BY position) FROM events WHERE stream = $1", ["message-" + log.dropFirst(4)])
            let outbox = try c.execute(
                "SELECT state || ' attempts=' || attempts || ' due=' || due_at || ' lease=' || coalesce(lease_until::text, '-') FROM delivery_outbox WHERE message_hex = $1",
                [String(log.dropFirst(4))])
            timelines.append("\(log): \(types[0][0] ?? "") [\(outbox.rows.first?[0] ?? "no outbox row")]")
        }
        #expect(allSent, "every message has its sent event: \(timelines)")
        #expect(try c.execute("SELECT count(*) FROM projection_failures")[0].int(0) == 0, "no event was set aside")

        // Each mail arrived at least once; only the one in flight at the kill may be twice.
        let received = try smtp.received().map(\.message_id)
        var copies: [String: Int] = [:]
        for id in received { copies[id, default: 0] += 1 }
        for log in logs { #expect((1...2).contains(copies["<\(log)@mail.test>"] ?? 0), "\(log): \(copies["<\(log)@mail.test>"] ?? 0) copies") }
        #expect(copies.values.filter { $0 > 1 }.count <= 1, "at most the in-flight mail is sent twice: \(copies)")
        kill(b, SIGTERM)
        #expect(await RunningExecutable.waitForExit(b) == 0)
    }

    /// The provider takes mails while the database is down (so `sent` cannot be recorded), for
    /// longer than the worker used to retry: each mail must still go out once. The worker keeps
    /// the outcomes until the database takes them, and whichever replica leads after the restart
    /// leaves the old leader's claims alone for `takeoverGrace`, long enough for those outcomes
    /// to land. Before, the outcomes were given up after ~4 s and every mail was sent again.
    @Test func databaseDownWhileTheProviderTakesMailsSendsEachOnce() async throws {
        let cluster = try PrivateCluster()
        defer { cluster.destroy() }
        let smtp = try SMTPFixture(mode: .slow)
        defer { smtp.stop() }
        // B may take the lock when the database is back.
        let (a, clientA, b, _) = try await Self.twoDeliveryReplicas(cluster.url, smtpPort: smtp.port, keyID: "fault4")

        let template = try await clientA.send("POST", "/templates", json: ["name": "T", "subject": "s", "html": "h"])
        let templateID = try #require(template.json["id"]?.stringValue)
        let brand = try await clientA.send(
            "PUT", "/v1/Brands/acme",
            json: ["Name": "Acme", "From": "Acme <hello@acme.example>", "Templates": ["token": .string(templateID)]])
        try #require(brand.status == 200, "\(brand.text)")
        // One request, so one batch claims and composes all four before the first goes out.
        let messages: [JSON] = (0..<4).map { i in
            ["To": .string("r\(i)@example.com"), "Type": "token", "BrandId": "acme", "Token": "t", "NumPhotos": 1]
        }
        let r = try await clientA.send("POST", "/v1/Email/", json: ["Messages": .array(messages)])
        try #require(r.status == 200, "\(r.text)")
        let logs = (r.json["Results"]?.arrayValue ?? []).compactMap { $0["MessageId"]?.stringValue }
            .map { "log_" + $0.replacingOccurrences(of: "-", with: "").lowercased() }
        try #require(logs.count == 4)
        // The first mail is at the provider (which holds each 250 for a second): the database
        // goes away with the batch on the wire, and stays away until every mail went out and
        // well past the old ~4 s of retries.
        #expect(await eventually(timeout: .seconds(20)) { ((try? smtp.received().count) ?? 0) >= 1 })
        try cluster.stop()
        let down = ContinuousClock.now
        #expect(await eventually(timeout: .seconds(20)) { ((try? smtp.received().count) ?? 0) >= logs.count })
        // A holds the four outcomes, waiting for the database (its /metrics says so).
        let waiting = await eventually(timeout: .seconds(10)) {
            let m = (try? await clientA.send("GET", "/metrics").text) ?? ""
            return metricValue(m, "delivery_send_outcomes_unrecorded") == Double(logs.count)
        }
        #expect(waiting, "delivery_send_outcomes_unrecorded")
        try await Task.sleep(until: down + .seconds(FaultScale.pick(12, long: 30)))  // the outage itself is what is under test
        try cluster.start()

        // Every message ends with one `queued` and one `sent`, and the outbox empties (a mail
        // sent again would first be claimed again, so its row would wait for that outcome).
        let c = try PostgresConnection(url: cluster.url)
        let streams = PostgresArray(logs.map { "message-" + $0.dropFirst(4) })
        let settled = await eventually(timeout: FaultScale.seconds(60)) {
            let sent = try? c.execute(
                "SELECT count(DISTINCT stream) FROM events WHERE type = 'message.sent' AND stream = ANY($1::text[])", [streams])
            let pending = try? c.execute("SELECT count(*) FROM delivery_outbox")
            return sent?[0].int(0) == logs.count && pending?[0].int(0) == 0
        }
        #expect(settled, "every message is sent and the outbox is empty")
        let timelines = try c.execute(
            "SELECT stream, string_agg(type, ',' ORDER BY position) FROM events WHERE stream = ANY($1::text[]) GROUP BY stream",
            [streams])
        for row in timelines.rows {
            #expect(row[1] == "message.requested,message.queued,message.sent", "\(row[0] ?? ""): \(row[1] ?? "")")
        }
        var copies: [String: Int] = [:]
        for id in try smtp.received().map(\.message_id) { copies[id, default: 0] += 1 }
        for log in logs { #expect(copies["<\(log)@mail.test>"] == 1, "\(log): \(copies["<\(log)@mail.test>"] ?? 0) copies") }
        // A recorded them itself once the database was back.
        let metrics = try await clientA.send("GET", "/metrics").text
        #expect(metricValue(metrics, #"delivery_send_outcomes_total{type="message.sent"}"#) == Double(logs.count))
        #expect(metricValue(metrics, "delivery_send_outcomes_unrecorded") == 0)
        for pid in [a, b] {
            kill(pid, SIGTERM)
            #expect(await RunningExecutable.waitForExit(pid) == 0)
        }
    }
}

extension FaultTests {
    /// Two `delivery` executables on `url` sending to the SMTP fixture on `smtpPort` over one
    /// session each: A starts alone, so it is the active worker (ready when this returns); B is
    /// the standby.
    static func twoDeliveryReplicas(_ url: String, smtpPort: Int, keyID: String) async throws
        -> (a: pid_t, clientA: TestHTTPClient, b: pid_t, clientB: TestHTTPClient)
    {
        let shared = [
            "MASTER_KEY": MasterKeyring.generateEntry(id: keyID),
            "MAIL_TRANSPORT": "smtp://127.0.0.1:\(smtpPort)?tls=none&timeout=10&connect_timeout=2&sessions=1",
            "MAIL_FROM_DOMAIN": "mail.test",
        ]
        let portA = TestPortAllocator.freePort()
        let portB = TestPortAllocator.freePort()
        let a = try RunningExecutable.spawn("delivery", environment: environment(url, port: portA, extra: shared))
        let clientA = TestHTTPClient(port: portA, basicAuth: ("site1", "key1"))
        #expect(await healthy(clientA))
        #expect(await eventually(timeout: .seconds(30)) { (try? await clientA.send("GET", "/readyz").status) == 200 })
        let b = try RunningExecutable.spawn("delivery", environment: environment(url, port: portB, extra: shared))
        let clientB = TestHTTPClient(port: portB, basicAuth: ("site1", "key1"))
        #expect(await healthy(clientB))
        return (a, clientA, b, clientB)
    }

    /// Which projections a replica leads, from its /readyz.
    static func leads(_ client: TestHTTPClient) async -> Set<String> {
        guard let r = try? await client.send("GET", "/readyz"), let projections = r.json["checks"]?["projections"]?.objectValue
        else { return [] }
        return Set(projections.members.filter { $0.value["leader"] == true }.map(\.key))
    }

    /// Every projection a replica runs (led or standing by), from its /readyz.
    static func projections(_ client: TestHTTPClient) async -> Set<String> {
        guard let r = try? await client.send("GET", "/readyz"), let projections = r.json["checks"]?["projections"]?.objectValue
        else { return [] }
        return Set(projections.members.map(\.key))
    }

    @Test(arguments: ["query", "delivery"])
    func twoReplicasRunEachProjectionOnceAndTheStandbyTakesOver(service: String) async throws {
        let url = try TestPostgres.makeDatabase()
        let outbox = NSTemporaryDirectory() + "replicas-" + UUID().uuidString
        let shared = [
            "MASTER_KEY": MasterKeyring.generateEntry(id: "fault4"),
            "MAIL_TRANSPORT": "file://" + outbox,
        ]
        let ports = [TestPortAllocator.freePort(), TestPortAllocator.freePort()]
        var pids = try ports.map { try RunningExecutable.spawn(service, environment: Self.environment(url, port: $0, extra: shared)) }
        let clients = ports.map { TestHTTPClient(port: $0, basicAuth: ("site1", "key1")) }
        for client in clients { #expect(await Self.healthy(client)) }

        // Every projection is led by exactly one of the two (once each runner has tried for its
        // lock: right after start some have not, and a set taken then would be partial).
        let names = await Self.projections(clients[0])
        var all: Set<String> = []
        let split = await eventually(timeout: .seconds(30)) {
            let a = await Self.leads(clients[0])
            let b = await Self.leads(clients[1])
            all = a.union(b)
            return !all.isEmpty && all == names && a.isDisjoint(with: b)
        }
        #expect(split, "led \(all) of \(names)")
        // query has one runner for its whole read model; delivery one per projection.
        #expect(all.count >= (service == "query" ? 1 : 2), "\(all)")
        try await Task.sleep(for: .seconds(1))  // a second look: still exactly one leader each
        let a = await Self.leads(clients[0])
        let b = await Self.leads(clients[1])
        #expect(a.isDisjoint(with: b) && a.union(b) == all)

        // Kill the replica that leads most; the other leads everything within seconds.
        let victim = a.count >= b.count ? 0 : 1
        let survivor = 1 - victim
        kill(pids[victim], SIGKILL)
        _ = await RunningExecutable.waitForExit(pids[victim])
        let started = ContinuousClock.now
        #expect(await eventually(timeout: .seconds(20)) { await Self.leads(clients[survivor]) == all })
        let takeover = ContinuousClock.now - started
        #expect(takeover < .seconds(10), "took \(takeover)")
        kill(pids[survivor], SIGTERM)
        #expect(await RunningExecutable.waitForExit(pids[survivor]) == 0)
        pids = []
    }
}

/// Counts of HTTP statuses seen by a load generator.
final class StatusCounts: @unchecked Sendable {
    // @unchecked Sendable: `counts` is only touched under `lock`.
    private let lock = NSLock()
    private var counts: [Int: Int] = [:]
    func add(_ status: Int) { lock.withLock { counts[status, default: 0] += 1 } }
    func count(_ status: Int) -> Int { lock.withLock { counts[status] ?? 0 } }
    var summary: [Int: Int] { lock.withLock { counts } }
}
