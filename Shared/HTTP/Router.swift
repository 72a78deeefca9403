/// Values captured by `:name` segments of a route pattern.
public struct RouteParameters: Sendable {
    public private(set) var values: [(name: String, value: String)] = []

    public init() {}
    public init(_ values: [(String, String)]) { self.values = values.map { (name: $0.0, value: $0.1) } }

    /// The decoded segment captured by `:name`.
    public subscript(name: String) -> String? {
        for v in values where v.name == name { return v.value }
        return nil
    }

    /// The parameter, or a 400 naming it when absent.
    public func require(_ name: String) throws(HTTPError) -> String {
        guard let v = self[name] else { throw HTTPError(.badRequest, "missing parameter \(name)") }
        return v
    }

    mutating func append(_ name: String, _ value: String) { values.append((name: name, value: value)) }
}

/// What a handler knows beyond the request itself.
public struct RequestContext: Sendable {
    /// Values of the route's `:param` segments.
    public var parameters: RouteParameters
    /// The matched route pattern (for example `/customers/:email/logs`), for metrics and logs.
    public var route: String
    /// The authenticated tenant (site id), when the route required authentication.
    public var tenant: String?

    public init(parameters: RouteParameters = RouteParameters(), route: String = "", tenant: String? = nil) {
        self.parameters = parameters
        self.route = route
        self.tenant = tenant
    }

    /// The tenant, or 401 when the request is not authenticated.
    public func requireTenant() throws(HTTPError) -> String {
        guard let tenant else { throw HTTPError(.unauthorized, "authentication required") }
        return tenant
    }
}

/// A handler run as a `Task`.
public typealias AsyncHTTPHandler = @Sendable (HTTPRequest, RequestContext) async throws -> HTTPResponse
/// A handler run inline on the I/O thread: it must be quick and never block.
public typealias InlineHTTPHandler = @Sendable (HTTPRequest, RequestContext) throws -> HTTPResponse
/// A handler that starts on the I/O thread (quick and non-blocking, like an inline one) and answers
/// later, from any thread, through the `HTTPResponder` it is given: exactly once. A thrown error
/// is the answer instead (and then the responder must not be used).
public typealias DeferredHTTPHandler = @Sendable (HTTPRequest, RequestContext, HTTPResponder) throws -> Void

/// Checks a request's credentials and returns its tenant, or throws (typically 401).
public protocol RequestAuthenticator: Sendable {
    func authenticate(_ request: HTTPRequest) throws -> String
}

/// Maps method + path pattern to handlers. Patterns are `/`-separated; a segment `:name`
/// captures any one decoded segment. Build it before starting the server; it is immutable there.
///
/// Routes require authentication unless added with `requiresAuth: false` (or inside such a
/// group). A route that requires authentication on a router without an authenticator always
/// answers 401 (fail closed).
public struct Router: Sendable {
    public enum Handler: Sendable {
        case async(AsyncHTTPHandler)
        case inline(InlineHTTPHandler)
        case deferred(DeferredHTTPHandler)
    }

    enum Segment: Sendable, Equatable {
        case literal(String)
        case parameter(String)
    }

    public struct Route: Sendable {
        public let method: String
        public let pattern: String
        public let requiresAuth: Bool
        public let handler: Handler
        let segments: [Segment]
    }

    /// The outcome of matching a request.
    public enum Match: Sendable {
        case found(Route, RouteParameters)
        case notFound
        /// The path exists for other methods; `allow` lists them (with HEAD when GET exists).
        case methodNotAllowed(allow: [String])
    }

    public private(set) var routes: [Route] = []
    /// Checks credentials for routes that require authentication.
    public var authenticator: (any RequestAuthenticator)?
    var prefix: [Segment] = []
    var prefixPattern = ""
    var defaultRequiresAuth = true

    public init(authenticator: (any RequestAuthenticator)? = nil) { self.authenticator = authenticator }

    /// Adds a route whose handler runs as a Task.
    public mutating func on(
        _ method: String, _ pattern: String, requiresAuth: Bool? = nil, _ handler: @escaping AsyncHTTPHandler
    ) {
        add(method, pattern, requiresAuth, .async(handler))
    }

    /// Adds a route whose handler runs inline on the I/O thread (no Task hop): for cheap,
    /// non-blocking handlers such as `/healthz` and `/metrics`.
    public mutating func inline(
        _ method: String, _ pattern: String, requiresAuth: Bool? = nil, _ handler: @escaping InlineHTTPHandler
    ) {
        add(method, pattern, requiresAuth, .inline(handler))
    }

    /// Adds a route whose handler starts on the I/O thread and answers through a responder, from
    /// whichever thread finishes the work: a write that hands its append to the event store's
    /// committer is answered by the committer's completion, with no Task hop on either side.
    public mutating func deferred(
        _ method: String, _ pattern: String, requiresAuth: Bool? = nil, _ handler: @escaping DeferredHTTPHandler
    ) {
        add(method, pattern, requiresAuth, .deferred(handler))
    }

    public mutating func get(_ pattern: String, requiresAuth: Bool? = nil, _ handler: @escaping AsyncHTTPHandler) {
        on("GET", pattern, requiresAuth: requiresAuth, handler)
    }
    public mutating func post(_ pattern: String, requiresAuth: Bool? = nil, _ handler: @escaping AsyncHTTPHandler) {
        on("POST", pattern, requiresAuth: requiresAuth, handler)
    }
    public mutating func put(_ pattern: String, requiresAuth: Bool? = nil, _ handler: @escaping AsyncHTTPHandler) {
        on("PUT", pattern, requiresAuth: requiresAuth, handler)
    }
    public mutating func patch(_ pattern: String, requiresAuth: Bool? = nil, _ handler: @escaping AsyncHTTPHandler) {
        on("PATCH", pattern, requiresAuth: requiresAuth, handler)
    }
    public mutating func delete(_ pattern: String, requiresAuth: Bool? = nil, _ handler: @escaping AsyncHTTPHandler) {
        on("DELETE", pattern, requiresAuth: requiresAuth, handler)
    }

    /// Adds the routes built by `build` under `prefix`, with `requiresAuth` as their default.
    public mutating func group(_ prefix: String, requiresAuth: Bool = true, _ build: (inout Router) -> Void) {
        var sub = Router(authenticator: authenticator)
        sub.prefix = self.prefix + Router.compile(prefix)
        sub.prefixPattern = self.prefixPattern + Router.normalise(prefix)
        sub.defaultRequiresAuth = requiresAuth
        build(&sub)
        routes.append(contentsOf: sub.routes)
    }

    private mutating func add(_ method: String, _ pattern: String, _ requiresAuth: Bool?, _ handler: Handler) {
        let full = prefixPattern + Router.normalise(pattern)
        routes.append(
            Route(
                method: method, pattern: full.isEmpty ? "/" : full, requiresAuth: requiresAuth ?? defaultRequiresAuth,
                handler: handler, segments: prefix + Router.compile(pattern)))
    }

    static func normalise(_ pattern: String) -> String {
        let parts = pattern.split(separator: "/", omittingEmptySubsequences: true)
        return parts.isEmpty ? "" : "/" + parts.joined(separator: "/")
    }

    static func compile(_ pattern: String) -> [Segment] {
        pattern.split(separator: "/", omittingEmptySubsequences: true).map { part in
            part.hasPrefix(":") ? .parameter(String(part.dropFirst())) : .literal(String(part))
        }
    }

    /// Finds the route for `method` and decoded `segments`. HEAD falls back to the GET route.
    public func match(method: String, segments: [String]) -> Match {
        var allow: [String] = []
        var headFallback: (Route, RouteParameters)? = nil
        for route in routes where route.segments.count == segments.count {
            guard let params = Router.bind(route.segments, segments) else { continue }
            if route.method == method { return .found(route, params) }
            if method == "HEAD" && route.method == "GET" && headFallback == nil { headFallback = (route, params) }
            if !allow.contains(route.method) { allow.append(route.method) }
        }
        if let headFallback { return .found(headFallback.0, headFallback.1) }
        if allow.isEmpty { return .notFound }
        if allow.contains("GET") && !allow.contains("HEAD") { allow.append("HEAD") }
        return .methodNotAllowed(allow: allow)
    }

    private static func bind(_ pattern: [Segment], _ segments: [String]) -> RouteParameters? {
        var params = RouteParameters()
        for (p, s) in zip(pattern, segments) {
            switch p {
            case .literal(let l): if l != s { return nil }
            case .parameter(let name): params.append(name, s)
            }
        }
        return params
    }

    /// Answers `request` in-process, as the server would (routing, 404/405, authentication,
    /// handler, error mapping) but without sockets: handy for testing an application's routes.
    /// The body of a HEAD response is left in place; the server's serializer drops it.
    public func respond(to request: HTTPRequest) async -> HTTPResponse {
        let match = self.match(method: request.method, segments: request.pathSegments)
        guard case .found(let route, let parameters) = match else { return Router.responseForMiss(match)! }
        var context = RequestContext(parameters: parameters, route: route.pattern)
        do {
            if route.requiresAuth {
                guard let authenticator else { throw APIKeyAuthenticator.failure("authentication required") }
                context.tenant = try authenticator.authenticate(request)
            }
            switch route.handler {
            case .inline(let handler): return try handler(request, context)
            case .async(let handler): return try await handler(request, context)
            case .deferred(let handler):
                let context = context
                return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<HTTPResponse, any Error>) in
                    do {
                        try handler(request, context, HTTPResponder { continuation.resume(returning: $0) })
                    } catch {
                        continuation.resume(throwing: error)
                    }
                }
            }
        } catch {
            return .from(error: error)
        }
    }

    /// The response for a request that matched no route, or nil when `match` found one.
    static func responseForMiss(_ match: Match) -> HTTPResponse? {
        switch match {
        case .found: return nil
        case .notFound: return .error(status: .notFound, message: "not found")
        case .methodNotAllowed(let allow):
            var r = HTTPResponse.error(status: .methodNotAllowed, message: "method not allowed")
            r.headers.add("Allow", allow.joined(separator: ", "))
            return r
        }
    }
}
