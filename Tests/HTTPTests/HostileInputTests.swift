import Foundation
import JSON
import Synchronization
import Testing

@testable import HTTP

/// Counts handler invocations per route, so a test can prove a smuggled request never ran.
final class InvocationCounter: Sendable {
    private let counts = Mutex<[String: Int]>([:])
    func hit(_ route: String) { counts.withLock { $0[route, default: 0] += 1 } }
    func count(_ route: String) -> Int { counts.withLock { $0[route] ?? 0 } }
}

/// `POST /submit`, `GET /admin` (the smuggling target) and `GET /fast`, each counting its calls.
func countingRouter(_ counter: InvocationCounter) -> Router {
    var router = Router()
    router.inline("POST", "/submit", requiresAuth: false) { req, _ in
        counter.hit("submit")
        return .json(["length": .int(req.body.count)])
    }
    router.inline("GET", "/admin", requiresAuth: false) { _, _ in
        counter.hit("admin")
        return .json(["admin": true])
    }
    router.inline("GET", "/fast", requiresAuth: false) { _, _ in
        counter.hit("fast")
        return .json(["which": "fast"])
    }
    return router
}

/// The resident set size of this process (server and test clients), in bytes.
func residentBytes() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
        let digits = line.split(separator: " ").dropFirst().first ?? ""
        return (Int(digits) ?? 0) * 1024
    }
    return 0
}

/// One GET on a fresh connection: its status and how long it took.
func timedGet(port: Int, _ path: String = "/fast") throws -> (status: Int, seconds: Double) {
    let start = Date()
    let client = try RawClient(port: port)
    client.send(get(path))
    let status = try client.readResponse().status
    return (status, Date().timeIntervalSince(start))
}

let smuggled = "GET /admin HTTP/1.1\r\nHost: h\r\n\r\n"

@Suite struct RequestSmugglingTests {
    /// Requests whose framing is ambiguous, each followed by a request smuggled in its body or
    /// after it, with the status the server must answer.
    static let attacks: [(name: String, request: String, status: Int)] = [
        (
            "CL.TE", "POST /submit HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
                + smuggled, 400
        ),
        (
            "TE.CL", "POST /submit HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n"
                + String(smuggled.utf8.count, radix: 16) + "\r\n" + smuggled + "\r\n0\r\n\r\n", 400
        ),
        (
            "duplicate Content-Length",
            "POST /submit HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\nContent-Length: \(smuggled.utf8.count)\r\n\r\n"
                + smuggled, 400
        ),
        (
            "Content-Length list", "POST /submit HTTP/1.1\r\nHost: h\r\nContent-Length: 0, \(smuggled.utf8.count)\r\n\r\n"
                + smuggled, 400
        ),
        (
            "obs-fold hiding Transfer-Encoding",
            "POST /submit HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\nX-Pad: a\r\n Transfer-Encoding: chunked\r\n\r\n"
                + smuggled, 400
        ),
        (
            "obs-fold continuing Transfer-Encoding",
            "POST /submit HTTP/1.1\r\nHost: h\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n" + smuggled, 400
        ),
        (
            "chunked, identity", "POST /submit HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n"
                + smuggled, 400
        ),
        (
            "chunked twice",
            "POST /submit HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
                + smuggled, 400
        ),
        (
            "odd casing with Content-Length",
            "POST /submit HTTP/1.1\r\nHost: h\r\ntRaNsFeR-eNcOdInG: \tChUnKeD \r\nContent-Length: 5\r\n\r\n0\r\n\r\n" + smuggled,
            400
        ),
        (
            "space before colon",
            "POST /submit HTTP/1.1\r\nHost: h\r\nTransfer-Encoding : chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n" + smuggled,
            400
        ),
        (
            "vertical tab before chunked",
            "POST /submit HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: \u{0B}chunked\r\n\r\n0\r\n\r\n" + smuggled, 400
        ),
        (
            "chunked on HTTP/1.0", "POST /submit HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled, 400
        ),
        (
            "bare LF in chunk framing",
            "POST /submit HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\n\n" + smuggled, 400
        ),
        (
            "chunk size overflow",
            "POST /submit HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\n" + smuggled, 413
        ),
        (
            "unknown coding", "POST /submit HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n" + smuggled, 501
        ),
    ]

    @Test(arguments: attacks.indices)
    func ambiguousFramingIsRefusedAndNothingBehindItRuns(_ index: Int) async throws {
        let attack = Self.attacks[index]
        let counter = InvocationCounter()
        try await withServer(router: countingRouter(counter)) { server in
            let port = server.port
            let (status, closed) = try await blocking {
                let client = try RawClient(port: port)
                client.send(attack.request)
                let r = try client.readResponse()
                return (r.status, client.readsEOF())
            }
            #expect(status == attack.status, "\(attack.name)")
            #expect(closed, "\(attack.name): connection must close")
            // The server still serves, and that request ran: the counter works.
            #expect(try await blocking { try timedGet(port: port).status } == 200)
            #expect(counter.count("fast") == 1)
            #expect(counter.count("admin") == 0, "\(attack.name): smuggled request ran")
            #expect(counter.count("submit") == 0, "\(attack.name): refused request ran")
        }
    }

    /// The control: the same pipelined follow-up behind a well-framed request does run, so the
    /// attack tests above would notice a smuggled request.
    @Test func wellFramedPipelinedRequestRuns() async throws {
        let counter = InvocationCounter()
        try await withServer(router: countingRouter(counter)) { server in
            let port = server.port
            let statuses = try await blocking {
                let client = try RawClient(port: port)
                client.send("POST /submit HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n" + smuggled)
                return [try client.readResponse().status, try client.readResponse().status]
            }
            #expect(statuses == [200, 200])
            #expect(counter.count("submit") == 1)
            #expect(counter.count("admin") == 1)
        }
    }
}

@Suite struct ResourceExhaustionTests {
    /// Twenty clients trickle a never-ending header one byte per 50 ms on the server's only I/O
    /// thread; a normal client is answered meanwhile, and every trickler is cut off with 408.
    @Test func slowlorisIsCutOffWhileOthersAreServed() async throws {
        let counter = InvocationCounter()
        try await withServer(
            {
                $0.readTimeout = .milliseconds(1500)
                $0.ioThreads = 1
            }, router: countingRouter(counter)
        ) { server in
            let port = server.port
            let slow = try await blocking { try (0..<20).map { _ in try RawClient(port: port) } }
            let stop = Flag()
            let trickle = Thread {
                let bytes = Array("GET /fast HTTP/1.1\r\nHost: t\r\nX-Slow: ".utf8) + Array(repeating: UInt8(ascii: "a"), count: 200)
                for byte in bytes where !stop.isRaised {
                    for client in slow { client.send([byte]) }
                    Thread.sleep(forTimeInterval: 0.05)
                }
            }
            trickle.start()
            defer { stop.raise() }
            #expect(await eventually { server.connectionCount >= 20 })

            let normal = try await blocking { try timedGet(port: port) }
            let slowStillOpen = server.connectionCount >= 20
            #expect(normal.status == 200)
            #expect(normal.seconds < 1)
            #expect(slowStillOpen, "the normal request was not served while the slow ones were open")

            let cut = try await blocking {
                try slow.map { client in
                    let r = try client.readResponse()
                    return r.status == 408 && client.readsEOF()
                }
            }
            stop.raise()
            #expect(cut.allSatisfy { $0 })
            #expect(counter.count("fast") == 1)
            #expect(await eventually { server.connectionCount == 0 })
        }
    }

    /// 500 connections that send nothing or half a request line do not keep a new client waiting.
    @Test func manyIdleConnectionsDoNotBlockANewClient() async throws {
        try await withServer({ $0.shutdownTimeout = .seconds(2) }, router: countingRouter(InvocationCounter())) { server in
            let port = server.port
            let idle = try await blocking {
                try (0..<500).map { i in
                    let client = try RawClient(port: port)
                    if i % 2 == 1 { client.send("GET /fa") }
                    return client
                }
            }
            #expect(await eventually(within: 10) { server.connectionCount >= 500 })
            let normal = try await blocking { try timedGet(port: port) }
            #expect(normal.status == 200)
            #expect(normal.seconds < 2)
            _ = idle.count
        }
    }

    /// Header floods (thousands of fields, too many fields, one huge field, a huge request line)
    /// get 431/414 and body floods past a 64 KiB limit (declared, streamed, chunked) get 413, each closing its connection; after ~200
    /// of them the process has not grown by more than 50 MB and still answers.
    @Test func headerAndBodyFloodsAreRefusedWithBoundedMemory() async throws {
        let counter = InvocationCounter()
        try await withServer({ $0.maxBodyBytes = 64 * 1024 }, router: countingRouter(counter)) { server in
            let port = server.port
            let manyFields = "GET /fast HTTP/1.1\r\nHost: t\r\n" + (0..<2000).map { "X-F\($0): v\r\n" }.joined() + "\r\n"
            let fewFieldsTooMany = "GET /fast HTTP/1.1\r\nHost: t\r\n" + (0..<150).map { "X-\($0): v\r\n" }.joined() + "\r\n"
            let hugeField = "GET /fast HTTP/1.1\r\nHost: t\r\nX-Big: " + String(repeating: "b", count: 20_000) + "\r\n\r\n"
            let hugeLine = "GET /" + String(repeating: "p", count: 20_000) + " HTTP/1.1\r\nHost: t\r\n\r\n"
            let declared = "POST /submit HTTP/1.1\r\nHost: t\r\nContent-Length: 10000000\r\n\r\n"
            let streamed = declared + String(repeating: "x", count: 64 * 1024)
            let chunk = String(repeating: "c", count: 0xFFFF)
            let chunked =
                "POST /submit HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                + String(repeating: "FFFF\r\n" + chunk + "\r\n", count: 2)
            let floods: [(request: [UInt8], status: Int)] = [
                (manyFields, 431), (fewFieldsTooMany, 431), (hugeField, 431), (hugeLine, 414),
                (declared, 413), (streamed, 413), (chunked, 413),
            ].map { (Array($0.0.utf8), $0.1) }

            @Sendable func flood(_ rounds: Range<Int>) throws -> [String] {
                var failures: [String] = []
                for i in rounds {
                    let (request, status) = floods[i % floods.count]
                    let client = try RawClient(port: port)
                    client.send(request)
                    let r = try client.readResponse()
                    if r.status != status { failures.append("flood \(i % floods.count): \(r.status)") }
                    if !client.readsEOF() { failures.append("flood \(i % floods.count): not closed") }
                }
                return failures
            }

            _ = try await blocking { try flood(0..<14) }  // warm up allocator pools
            let before = residentBytes()
            let failures = try await withThrowingTaskGroup(of: [String].self) { group in
                for worker in 0..<4 {
                    group.addTask { try await blocking { try flood((worker * 50)..<(worker * 50 + 50)) } }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
            let after = residentBytes()
            #expect(failures.isEmpty, "\(failures.prefix(5))")
            #expect(before > 0)
            #expect(after - before < 50 * 1024 * 1024, "RSS grew from \(before >> 20) MB to \(after >> 20) MB")
            #expect(counter.count("submit") == 0)
            #expect(counter.count("fast") == 0)
            #expect(try await blocking { try timedGet(port: port).status } == 200)
        }
    }
}

@Suite struct HostileBodyTests {
    /// A body of 50,000 distinct keys (~0.5 MiB) decodes in linear time: quadratic key
    /// deduplication took 25 CPU seconds for a 1 MiB JSON body in a release build (found
    /// while writing the fuzz targets), and copying form nodes on every insert made forms quadratic too.
    /// Runs on its own thread (`blocking`) so the work never starves the cooperative pool that
    /// the other suites' async handlers need.
    @Test func bodyWithManyKeysDecodesQuickly() async throws {
        let count = 50_000
        let json = "{" + (0..<count).map { "\"k\($0)\":\($0)" }.joined(separator: ",") + ",\"k7\":\"last\"}"
        let form = (0..<count).map { "k\($0)=\($0)" }.joined(separator: "&") + "&k7=last&a[]=1&a[]=2"
        for (type, body) in [("application/json", json), ("application/x-www-form-urlencoded", form)] {
            let (seconds, value, roundTrips) = try await blocking {
                let request = try HTTPRequest(
                    method: "POST", target: "/", headers: ["Host": "h", "Content-Type": type], body: Array(body.utf8))
                let start = Date()
                let value = try request.decodeRequiredBody()
                let seconds = Date().timeIntervalSince(start)
                return (seconds, value, try JSON.parse(value.bytes) == value)
            }
            #expect(seconds < 5, "\(type) took \(seconds) s")
            let object = try #require(value.objectValue)
            let isJSON = type == "application/json"
            #expect(object.count == (isJSON ? count : count + 1))
            #expect(object.keys.prefix(3) == ["k0", "k1", "k2"])
            #expect(object["k7"] == "last")  // the later duplicate wins, in the first one's place
            #expect(object.keys[7] == "k7")
            #expect(object["k49999"] == (isJSON ? JSON.int(49999) : JSON.string("49999")))
            #expect(roundTrips)
        }
    }

    /// Form decoding keeps its semantics: later values win, kinds replace each other, arrays append.
    @Test func formReplacementSemantics() throws {
        let value = try FormDecoder.decode(Array("a=1&a[b]=2&c[]=1&c[x]=2&d[x]=1&d=3&e[][f]=1&e[][f]=2&a[b]=4".utf8))
        #expect(value == ["a": ["b": "4"], "c": ["x": "2"], "d": "3", "e": [["f": "1"], ["f": "2"]]])
        #expect(value.objectValue?.keys == ["a", "c", "d", "e"])
    }
}
