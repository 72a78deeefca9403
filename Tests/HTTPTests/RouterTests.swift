import JSON
import Testing

@testable import HTTP

@Suite struct RouterTests {
    func makeRouter() -> Router {
        var router = Router()
        router.get("/customers/:email/logs", requiresAuth: false) { _, ctx in
            .json(["email": .string(ctx.parameters["email"] ?? "")])
        }
        router.post("/customers", requiresAuth: false) { _, _ in .json([:], status: .created) }
        router.delete("/customers/:email", requiresAuth: false) { _, _ in .json([:]) }
        router.inline("GET", "/healthz", requiresAuth: false) { _, _ in .json(["ok": true]) }
        router.group("/v1", requiresAuth: false) { v1 in
            v1.get("/things/:id") { _, _ in .json([:]) }
        }
        return router
    }

    @Test func parametersAreDecodedSegments() throws {
        let router = makeRouter()
        let request = try HTTPRequest(method: "GET", target: "/customers/a%2Fb%40c.com/logs")
        guard case .found(let route, let params) = router.match(method: "GET", segments: request.pathSegments) else {
            Issue.record("expected a match")
            return
        }
        #expect(route.pattern == "/customers/:email/logs")
        #expect(params["email"] == "a/b@c.com")
        #expect(params["other"] == nil)
    }

    @Test func unknownPathIs404() {
        guard case .notFound = makeRouter().match(method: "GET", segments: ["nope"]) else {
            Issue.record("expected notFound")
            return
        }
        let response = Router.responseForMiss(.notFound)
        #expect(response?.status == .notFound)
    }

    @Test func wrongMethodIs405WithAllow() {
        let match = makeRouter().match(method: "PUT", segments: ["customers", "x"])
        guard case .methodNotAllowed(let allow) = match else {
            Issue.record("expected 405")
            return
        }
        #expect(allow == ["DELETE"])
        let response = Router.responseForMiss(match)
        #expect(response?.status.code == 405)
        #expect(response?.headers["Allow"] == "DELETE")
        guard case .methodNotAllowed(let allow2) = makeRouter().match(method: "POST", segments: ["healthz"]) else {
            Issue.record("expected 405")
            return
        }
        #expect(allow2 == ["GET", "HEAD"])
    }

    @Test func headUsesGetRoute() {
        guard case .found(let route, _) = makeRouter().match(method: "HEAD", segments: ["healthz"]) else {
            Issue.record("expected HEAD to match GET")
            return
        }
        #expect(route.method == "GET")
    }

    @Test func groupsPrefixPatternsAndSetAuthDefault() {
        guard case .found(let route, let params) = makeRouter().match(method: "GET", segments: ["v1", "things", "7"])
        else {
            Issue.record("expected a match")
            return
        }
        #expect(route.pattern == "/v1/things/:id")
        #expect(params["id"] == "7")
        #expect(!route.requiresAuth)
        var router = Router()
        router.get("/private") { _, _ in .json([:]) }
        #expect(router.routes[0].requiresAuth)
    }

    @Test func errorShape() throws {
        let response = HTTPResponse.error(status: .notFound, message: "not found")
        #expect(response.headers["content-type"] == "application/json")
        #expect(try JSON.parse(response.body) == ["success": false, "status": "error", "error": "not found"])
    }

    struct DatabaseDown: HTTPResponseError {
        var httpStatus: HTTPStatus { .serviceUnavailable }
        var httpMessage: String { "database unavailable" }
    }
    struct Secret: Error {}

    @Test func errorMapping() throws {
        let mapped = HTTPResponse.from(error: DatabaseDown())
        #expect(mapped.status.code == 503)
        #expect(try JSON.parse(mapped.body)["error"] == "database unavailable")
        let other = HTTPResponse.from(error: Secret())
        #expect(other.status.code == 500)
        #expect(try JSON.parse(other.body) == ["success": false, "status": "error", "error": "internal error"])
        let http = HTTPResponse.from(error: HTTPError(.conflict, "exists", headers: ["Retry-After": "1"]))
        #expect(http.status.code == 409)
        #expect(http.headers["retry-after"] == "1")
    }
}

@Suite struct RouterInProcessTests {
    @Test func respondRunsRoutingAuthAndErrorMapping() async throws {
        var router = Router(authenticator: APIKeyAuthenticator(keys: ["s": "k"]))
        router.get("/me") { _, ctx in .json(["tenant": .string(try ctx.requireTenant())]) }
        router.inline("GET", "/open", requiresAuth: false) { _, _ in throw HTTPError(.conflict, "taken") }
        let ok = await router.respond(
            to: try HTTPRequest(method: "GET", target: "/me", headers: ["Host": "h", "Authorization": "Bearer k"]))
        #expect(try JSON.parse(ok.body) == ["tenant": "s"])
        let unauthorized = await router.respond(to: try HTTPRequest(method: "GET", target: "/me"))
        #expect(unauthorized.status.code == 401)
        let conflict = await router.respond(to: try HTTPRequest(method: "GET", target: "/open"))
        #expect(conflict.status.code == 409)
        #expect(try JSON.parse(conflict.body)["error"] == "taken")
        let missing = await router.respond(to: try HTTPRequest(method: "GET", target: "/nope"))
        #expect(missing.status.code == 404)
    }

    @Test func routeWithoutAuthenticatorFailsClosed() async throws {
        var router = Router()
        router.get("/secret") { _, _ in .json([:]) }
        let r = await router.respond(to: try HTTPRequest(method: "GET", target: "/secret"))
        #expect(r.status.code == 401)
    }
}
