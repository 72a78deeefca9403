import Testing

/// Keeps the three routers, docs/openapi.yaml and deploy/routes.tsv in agreement. Routes are
/// compared as `RouteKey`s: parameter names and trailing slashes do not matter.
@Suite("Routes: routers, docs/openapi.yaml and deploy/routes.tsv agree")
struct RoutesTests {
    static func documented() throws -> [RouteKey] {
        try OpenAPIPaths.operations(in: RepositoryFile.text("docs/openapi.yaml")).map { RouteKey(method: $0.method, path: $0.path) }
    }

    @Test("every route of the three routers, and every operational route, is in docs/openapi.yaml")
    func routersAreDocumented() async throws {
        let documented = Set(try Self.documented())
        let routers = try await ServiceRouters.all()
        for (service, routes) in routers.sorted(by: { $0.key < $1.key }) {
            for route in routes where !documented.contains(route) {
                Issue.record("\(service) serves \(route), which docs/openapi.yaml does not document")
            }
        }
        for route in RouteKey.operational.sorted() {
            #expect(documented.contains(route), "operational route \(route) is not documented")
        }
        #expect(documented.count > RouteKey.operational.count)
    }

    @Test("every operation of docs/openapi.yaml is served by one of the routers")
    func documentedOperationsAreServed() async throws {
        let documented = try Self.documented()
        #expect(Set(documented).count == documented.count, "an operation is documented twice (same shape, other names)")
        let served = Set(try await ServiceRouters.all().values.joined()).union(RouteKey.operational)
        for route in documented.sorted() where !served.contains(route) {
            Issue.record("docs/openapi.yaml documents \(route), which no router serves")
        }
    }

    @Test("deploy/routes.tsv lists exactly the routers' routes, each with the service that serves it")
    func routingTableMatchesRouters() async throws {
        let table = try RoutingTable(text: RepositoryFile.text("deploy/routes.tsv"))
        let routers = try await ServiceRouters.all()
        #expect(!table.rows.isEmpty)
        var listed: [RouteKey: String] = [:]
        for row in table.rows {
            #expect(!RouteKey.operational.contains(row.route), "routes.tsv line \(row.line): \(row.route) is operational, not listed")
            if let earlier = listed[row.route] {
                Issue.record("routes.tsv line \(row.line): \(row.route) is listed twice (\(earlier) and \(row.service))")
            }
            listed[row.route] = row.service
            guard let served = routers[row.service] else {
                Issue.record("routes.tsv line \(row.line): unknown service \(row.service)")
                continue
            }
            if !served.contains(row.route) {
                let actual = routers.filter { $0.value.contains(row.route) }.keys.sorted()
                Issue.record(
                    "routes.tsv line \(row.line): \(row.route) is listed for \(row.service), served by \(actual.isEmpty ? "no router" : actual.joined(separator: ", "))")
            }
        }
        for (service, routes) in routers.sorted(by: { $0.key < $1.key }) {
            for route in routes where listed[route] != service {
                Issue.record("\(service) serves \(route), listed in routes.tsv for \(listed[route] ?? "no service")")
            }
        }
    }

    @Test("no two services (and no two routes of one service) claim the same method and pattern")
    func noRouteIsClaimedTwice() async throws {
        var owner: [RouteKey: String] = [:]
        let routers = try await ServiceRouters.all()
        #expect(routers.count == 3)
        for (service, routes) in routers.sorted(by: { $0.key < $1.key }) {
            for route in routes {
                #expect(!RouteKey.operational.contains(route), "\(service) registers \(route), which ServiceApp adds itself")
                if let other = owner[route] {
                    Issue.record("\(route) is claimed by \(other) and by \(service)")
                }
                owner[route] = service
            }
        }
    }
}

@Suite("Route comparison helpers")
struct RouteHelperTests {
    @Test("parameter names, parameter syntax, method case and trailing slashes are ignored")
    func routeKeyNormalisation() {
        #expect(RouteKey(method: "get", path: "/v1/Email/") == RouteKey(method: "GET", path: "/v1/Email"))
        #expect(RouteKey(method: "PUT", path: "/v1/Brands/{BrandId}") == RouteKey(method: "PUT", path: "/v1/Brands/:brand"))
        #expect(RouteKey(method: "GET", path: "/customers/{email}/logs").shape == "/customers/:/logs")
        #expect(RouteKey(method: "GET", path: "/customers/:id") != RouteKey(method: "DELETE", path: "/customers/:id"))
        #expect(RouteKey(method: "GET", path: "/customers/:id") != RouteKey(method: "GET", path: "/customers/:id/logs"))
        #expect(RouteKey(method: "GET", path: "/logs/{id}x") != RouteKey(method: "GET", path: "/logs/:id"))
    }

    @Test("the paths reader finds paths and their operations and nothing else")
    func readsPaths() throws {
        let yaml = """
            openapi: 3.0.3
            # paths: in a comment is not the section
            paths:
              # a comment
              /customers:
                summary: path-level fields are allowed
                post:
                  responses:
                    '200':
                      description: ok
                      content:
                        application/json:
                          schema:
                            properties:
                              get:
                                type: string

              '/customers/{email}':   # quoted, with a comment
                parameters:
                  - name: email
                get:
                  summary: x
                delete:
                  summary: y
              /v1/Email/:
                get:
                  summary: z
            components:
              schemas:
                post:
                  type: object
            """
        let operations = try OpenAPIPaths.operations(in: yaml).map { "\($0.method) \($0.path)" }
        #expect(operations == ["POST /customers", "GET /customers/{email}", "DELETE /customers/{email}", "GET /v1/Email/"])
    }

    @Test("the paths reader refuses formatting it cannot read reliably")
    func refusesIrregularPaths() {
        let flow = "paths:\n  /a: {get: {responses: {}}}\n"
        let pathRef = "paths:\n  /a:\n    $ref: '#/x'\n"
        let inlineOperation = "paths:\n  /a:\n    get: {}\n"
        let wrongIndent = "paths:\n   /a:\n     get:\n"
        let notAPath = "paths:\n  a:\n    get:\n"
        let duplicate = "paths:\n  /a:\n    get:\n  /a:\n    post:\n"
        let missing = "openapi: 3.0.3\ninfo:\n  title: x\n"
        for text in [flow, pathRef, inlineOperation, wrongIndent, notAPath, duplicate, missing] {
            #expect(throws: OpenAPIPaths.FormatError.self, "\(text)") { try OpenAPIPaths.operations(in: text) }
        }
    }

    @Test("routes.tsv rows are read, comments skipped, malformed rows refused")
    func readsRoutingTable() throws {
        let table = try RoutingTable(text: "# header\n\nGET\t/customers/:email\tquery\r\nPOST\t/v1/Email\tdelivery\n")
        #expect(table.rows.map(\.route) == [RouteKey(method: "GET", path: "/customers/{x}"), RouteKey(method: "POST", path: "/v1/Email/")])
        #expect(table.rows.map(\.service) == ["query", "delivery"])
        #expect(table.rows.map(\.line) == [3, 4])
        #expect(throws: RoutingTable.FormatError.self) { try RoutingTable(text: "GET /customers query\n") }
        #expect(throws: RoutingTable.FormatError.self) { try RoutingTable(text: "GET\t/customers\n") }
    }
}
