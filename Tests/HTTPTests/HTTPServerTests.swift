import Foundation
import JSON
import Synchronization
import Testing

@testable import HTTP

/// Collects log lines from the server.
final class LogBox: Sendable {
    let lines = Mutex<[String]>([])
    var sink: @Sendable (String) -> Void { { line in self.lines.withLock { $0.append(line) } } }
}

/// A flag a handler raises so a test can poll for it.
final class Flag: Sendable {
    private let value = Atomic<Bool>(false)
    func raise() { value.store(true, ordering: .releasing) }
    var isRaised: Bool { value.load(ordering: .acquiring) }
}

func testRouter(started: Flag = Flag()) -> Router {
    var router = Router(authenticator: APIKeyAuthenticator(keys: ["site1": "key-one"]))
    router.inline("GET", "/hello", requiresAuth: false) { req, _ in
        .json(["hello": "world", "id": .string(req.requestID)])
    }
    router.inline("GET", "/fast", requiresAuth: false) { _, _ in .json(["which": "fast"]) }
    router.get("/slow", requiresAuth: false) { _, _ in
        started.raise()
        try await Task.sleep(for: .milliseconds(300))
        return .json(["which": "slow"])
    }
    router.post("/echo", requiresAuth: false) { req, _ in
        .json(["length": .int(req.body.count), "body": .string(String(decoding: req.body, as: UTF8.self))])
    }
    router.get("/customers/:email", requiresAuth: false) { _, ctx in
        .json(["email": .string(ctx.parameters["email"] ?? "")])
    }
    router.get("/big", requiresAuth: false) { _, _ in
        HTTPResponse(status: .ok, headers: ["Content-Type": "application/octet-stream"],
            body: Array(repeating: UInt8(ascii: "x"), count: 4 * 1024 * 1024))
    }
    router.get("/private") { _, ctx in .json(["tenant": .string(ctx.tenant ?? "")]) }
    // Deferred: answered later from another thread (after `ms` milliseconds), or refused at once.
    router.deferred("GET", "/later/:ms", requiresAuth: false) { _, ctx, responder in
        guard let ms = Int(ctx.parameters["ms"] ?? "") else { throw HTTPError(.badRequest, "ms must be a number") }
        Thread.detachNewThread {
            Thread.sleep(forTimeInterval: Double(ms) / 1000)
            responder.respond(.json(["which": .string("later \(ms)")]))
        }
    }
    router.deferred("GET", "/later-async", requiresAuth: false) { _, _, responder in
        responder.respondLater { .json(["which": "later async"]) }
    }
    router.get("/boom", requiresAuth: false) { _, _ in
        struct Hidden: Error {}
        throw Hidden()
    }
    return router
}

@discardableResult
func withServer<T>(
    _ configure: (inout HTTPServer.Configuration) -> Void = { _ in }, router: Router = testRouter(),
    logs: LogBox = LogBox(), metrics: MetricsRegistry = MetricsRegistry(),
    _ body: (HTTPServer) async throws -> T
) async throws -> T {
    var config = HTTPServer.Configuration()
    config.ioThreads = 2
    configure(&config)
    let server = HTTPServer(
        router: router, configuration: config, metrics: metrics, logger: RequestLogger(level: .info, sink: logs.sink))
    try server.start()
    do {
        let result = try await body(server)
        await server.shutdown()
        return result
    } catch {
        await server.shutdown()
        throw error
    }
}

func get(_ path: String) -> String { "GET \(path) HTTP/1.1\r\nHost: test\r\n\r\n" }

@Suite struct HTTPServerTests {
    @Test func keepAliveServesSeveralRequestsOnOneConnection() async throws {
        let logs = LogBox()
        let metrics = MetricsRegistry()
        try await withServer(logs: logs, metrics: metrics) { server in
            let port = server.port
            #expect(port > 0)
            let ids = try await blocking {
                let client = try RawClient(port: port)
                var ids: [String] = []
                for i in 0..<3 {
                    client.send("GET /hello HTTP/1.1\r\nHost: test\r\nX-Request-Id: req-\(i)\r\n\r\n")
                    let r = try client.readResponse()
                    guard r.status == 200, r.json?["hello"] == "world" else { throw RawClient.Failure(description: "bad response") }
                    ids.append(r.headers["x-request-id"] ?? "")
                }
                client.send(get("/hello"))
                let generated = try client.readResponse()
                ids.append(generated.headers["x-request-id"] ?? "")
                ids.append(generated.json?["id"]?.stringValue ?? "")
                ids.append(generated.headers["date"] ?? "")
                ids.append(generated.headers["connection"] ?? "none")
                return ids
            }
            #expect(Array(ids[0..<3]) == ["req-0", "req-1", "req-2"])
            #expect(!ids[3].isEmpty && ids[3] == ids[4])
            #expect(ids[5].hasSuffix("GMT"))
            #expect(ids[6] == "none")
        }
        let all = logs.lines.withLock { $0 }
        #expect(all.first?.contains("\"http server listening\"") == true)
        let lines = all.filter { $0.contains("\"request_id\"") }
        #expect(lines.count == 4)
        let first = try JSON.parse(lines[0])
        #expect(first["request_id"] == "req-0")
        #expect(first["method"] == "GET")
        #expect(first["route"] == "/hello")
        #expect(first["status"] == 200)
        #expect(first["duration_ms"]?.doubleValue != nil)
        #expect(first["bytes"]?.intValue ?? 0 > 0)
        #expect(metrics.render().contains("http_requests_total{route=\"/hello\",method=\"GET\",status=\"200\"} 4"))
        #expect(metrics.render().contains("http_request_duration_seconds_count{route=\"/hello\"} 4"))
    }

    @Test func pipelinedResponsesKeepRequestOrder() async throws {
        try await withServer { server in
            let port = server.port
            let bodies = try await blocking {
                let client = try RawClient(port: port)
                client.send(get("/slow") + get("/fast") + get("/hello"))
                return try (0..<3).map { _ in try client.readResponse().json?["which"]?.stringValue ?? "hello" }
            }
            #expect(bodies == ["slow", "fast", "hello"])
        }
    }

    @Test func deferredHandlersAnswerFromOtherThreadsInRequestOrder() async throws {
        try await withServer { server in
            let port = server.port
            let (bodies, refused) = try await blocking {
                let client = try RawClient(port: port)
                client.send(get("/later/200") + get("/fast") + get("/later/0") + get("/later-async") + get("/later/x"))
                let bodies = try (0..<4).map { _ in try client.readResponse().json?["which"]?.stringValue ?? "" }
                return (bodies, try client.readResponse())
            }
            #expect(bodies == ["later 200", "fast", "later 0", "later async"])
            #expect(refused.status == 400)
            #expect(refused.json?["error"]?.stringValue == "ms must be a number")
        }
    }

    @Test func routerAnswersDeferredHandlersInProcess() async throws {
        let router = testRouter()
        let later = await router.respond(to: try HTTPRequest(method: "GET", target: "/later/5"))
        #expect(later.status == .ok)
        let refused = await router.respond(to: try HTTPRequest(method: "GET", target: "/later/x"))
        #expect(refused.status == .badRequest)
    }

    @Test func manyPipelinedAsyncRequestsStayInOrder() async throws {
        try await withServer { server in
            let port = server.port
            let emails = try await blocking {
                let client = try RawClient(port: port)
                client.send((0..<80).map { get("/customers/\($0)") }.joined())
                return try (0..<80).map { _ in try client.readResponse().json?["email"]?.stringValue ?? "" }
            }
            #expect(emails == (0..<80).map { String($0) })
        }
    }

    @Test func largeResponseAndLargeUpload() async throws {
        try await withServer { server in
            let port = server.port
            let (big, echoed) = try await blocking {
                let client = try RawClient(port: port)
                client.send(get("/big"))
                let big = try client.readResponse()
                let payload = String(repeating: "y", count: 1024 * 1024 - 10)
                client.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: \(payload.utf8.count)\r\n\r\n" + payload)
                return (big.body.count, try client.readResponse().json?["length"]?.intValue)
            }
            #expect(big == 4 * 1024 * 1024)
            #expect(echoed == 1024 * 1024 - 10)
        }
    }

    @Test func chunkedUpload() async throws {
        try await withServer { server in
            let port = server.port
            let r = try await blocking {
                let client = try RawClient(port: port)
                client.send("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel")
                Thread.sleep(forTimeInterval: 0.05)
                client.send("lo\r\n6;x=y\r\n world\r\n0\r\nTrailer: x\r\n\r\n")
                return try client.readResponse()
            }
            #expect(r.status == 200)
            #expect(r.json?["body"] == "hello world")
            #expect(r.json?["length"] == 11)
        }
    }

    @Test func expectContinue() async throws {
        try await withServer { server in
            let port = server.port
            let (interim, final) = try await blocking {
                let client = try RawClient(port: port)
                client.send("POST /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n")
                let interim = try client.readResponse()
                client.send("data")
                return (interim.status, try client.readResponse())
            }
            #expect(interim == 100)
            #expect(final.status == 200)
            #expect(final.json?["body"] == "data")
        }
    }

    @Test func expectContinueTooLargeIs413() async throws {
        try await withServer({ $0.maxBodyBytes = 100 }) { server in
            let port = server.port
            let (status, closed) = try await blocking {
                let client = try RawClient(port: port)
                client.send("POST /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 1000\r\n\r\n")
                let r = try client.readResponse()
                return (r.status, client.readsEOF())
            }
            #expect(status == 413)
            #expect(closed)
        }
    }

    @Test func headHasHeadersButNoBody() async throws {
        try await withServer { server in
            let port = server.port
            let (head, next) = try await blocking {
                let client = try RawClient(port: port)
                client.send("HEAD /fast HTTP/1.1\r\nHost: t\r\n\r\n")
                let head = try client.readResponse(headRequest: true)
                client.send(get("/fast"))
                return (head, try client.readResponse())
            }
            #expect(head.status == 200)
            #expect(head.headers["content-length"] == String(next.body.count))
            #expect(next.json?["which"] == "fast")
        }
    }

    @Test func oversizeBodyIs413AndCloses() async throws {
        try await withServer({ $0.maxBodyBytes = 100 }) { server in
            let port = server.port
            let (r, closed) = try await blocking {
                let client = try RawClient(port: port)
                client.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\n")
                let r = try client.readResponse()
                return (r, client.readsEOF())
            }
            #expect(r.status == 413)
            #expect(r.headers["connection"] == "close")
            #expect(r.json?["success"] == false)
            #expect(closed)
        }
    }

    @Test func malformedRequestIs400AndCloses() async throws {
        try await withServer { server in
            let port = server.port
            let (r, closed) = try await blocking {
                let client = try RawClient(port: port)
                client.send("GET / HTTP/1.1\r\nHost: t\r\nBad Header: x\r\n\r\n")
                let r = try client.readResponse()
                return (r, client.readsEOF())
            }
            #expect(r.status == 400)
            #expect(r.json?["status"] == "error")
            #expect(closed)
        }
    }

    @Test func routingErrorsOverTheWire() async throws {
        try await withServer { server in
            let port = server.port
            let responses = try await blocking {
                let client = try RawClient(port: port)
                var out: [RawClient.Response] = []
                for request in [
                    get("/nope"), "DELETE /hello HTTP/1.1\r\nHost: t\r\n\r\n", get("/customers/a%2Fb%40c.com"),
                    get("/customers/%zz"), get("/private"),
                    "GET /private HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer key-one\r\n\r\n", get("/boom"),
                ] {
                    client.send(request)
                    out.append(try client.readResponse())
                }
                return out
            }
            #expect(responses[0].status == 404)
            #expect(responses[1].status == 405)
            #expect(responses[1].headers["allow"] == "GET, HEAD")
            #expect(responses[2].json?["email"] == "a/b@c.com")
            #expect(responses[3].status == 400)
            #expect(responses[4].status == 401)
            #expect(responses[4].headers["www-authenticate"] == "Basic realm=\"api\"")
            #expect(responses[5].json?["tenant"] == "site1")
            #expect(responses[6].status == 500)
            #expect(responses[6].json == ["success": false, "status": "error", "error": "internal error"])
        }
    }

    @Test func http10ClosesAfterResponse() async throws {
        try await withServer { server in
            let port = server.port
            let (r, closed) = try await blocking {
                let client = try RawClient(port: port)
                client.send("GET /fast HTTP/1.0\r\n\r\n")
                let r = try client.readResponse()
                return (r, client.readsEOF())
            }
            #expect(r.status == 200)
            #expect(closed)
        }
    }

    @Test func slowlorisIsCutOffByReadTimeout() async throws {
        try await withServer({ $0.readTimeout = .milliseconds(300) }) { server in
            let port = server.port
            let (r, closed, elapsed) = try await blocking {
                let client = try RawClient(port: port)
                let start = Date()
                client.send("GET /fast HTTP/1.1\r\nHo")
                // Trickle one byte at a time; each arrives well within any idle timeout.
                for byte in "st: t\r\nX-A: 1".utf8 {
                    client.send([byte])
                    Thread.sleep(forTimeInterval: 0.05)
                }
                let r = try client.readResponse()
                return (r, client.readsEOF(), Date().timeIntervalSince(start))
            }
            #expect(r.status == 408)
            #expect(closed)
            #expect(elapsed < 3)
        }
    }

    @Test func idleKeepAliveConnectionIsClosed() async throws {
        try await withServer({ $0.idleTimeout = .milliseconds(200) }) { server in
            let port = server.port
            let (status, closed) = try await blocking {
                let client = try RawClient(port: port)
                client.send(get("/fast"))
                let r = try client.readResponse()
                return (r.status, client.readsEOF())
            }
            #expect(status == 200)
            #expect(closed)
            #expect(await eventually { server.connectionCount == 0 })
        }
    }

    @Test func maxConnectionsRefusesExtraWith503() async throws {
        try await withServer({ $0.maxConnections = 1 }) { server in
            let port = server.port
            let status = try await blocking {
                let first = try RawClient(port: port)
                first.send(get("/fast"))
                _ = try first.readResponse()
                let second = try RawClient(port: port)
                return try second.readResponse().status
            }
            #expect(status == 503)
        }
    }

    @Test func startTwiceThrows() async throws {
        try await withServer { server in
            #expect(throws: (any Error).self) { try server.start() }
        }
    }

    @Test func gracefulShutdownFinishesInFlightRequest() async throws {
        let started = Flag()
        var config = HTTPServer.Configuration()
        config.ioThreads = 2
        let server = HTTPServer(router: testRouter(started: started), configuration: config, logger: .disabled)
        try server.start()
        let port = server.port
        async let response = blocking {
            let client = try RawClient(port: port)
            client.send(get("/slow"))
            return try client.readResponse()
        }
        // An idle keep-alive connection is closed by the shutdown.
        let idle = try await blocking { try RawClient(port: port) }
        #expect(await eventually { started.isRaised })
        server.beginShutdown()
        let r = try await response
        #expect(r.status == 200)
        #expect(r.json?["which"] == "slow")
        #expect(r.headers["connection"] == "close")
        await server.wait()
        #expect(try await blocking { idle.readsEOF() })
        #expect(throws: RawClient.Failure.self) { _ = try RawClient(port: port) }
    }
}
