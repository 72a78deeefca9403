/// A route as these tests compare it: the method and the path's shape, with parameter names
/// dropped (`/customers/:email` and `/customers/{id}` are both `/customers/:`) and empty
/// segments ignored (so `/v1/Email/` and `/v1/Email` are the same route, as for the Router).
struct RouteKey: Hashable, Comparable, CustomStringConvertible, Sendable {
    let method: String
    let shape: String

    /// `path` in Router syntax (`:name`) or OpenAPI syntax (`{name}`).
    init(method: String, path: String) {
        self.method = method.uppercased()
        let segments = path.split(separator: "/", omittingEmptySubsequences: true).map { segment -> String in
            if segment.hasPrefix(":") || (segment.hasPrefix("{") && segment.hasSuffix("}")) { return ":" }
            return String(segment)
        }
        shape = "/" + segments.joined(separator: "/")
    }

    var description: String { "\(method) \(shape)" }

    static func < (a: RouteKey, b: RouteKey) -> Bool { (a.shape, a.method) < (b.shape, b.method) }

    /// Served by every service without authentication and added by `ServiceApp.start`, so not
    /// in the routers `build` returns nor in deploy/routes.tsv; documented as operational.
    static let operational: Set<RouteKey> = [
        RouteKey(method: "GET", path: "/healthz"),
        RouteKey(method: "GET", path: "/readyz"),
        RouteKey(method: "GET", path: "/metrics"),
    ]
}
