import EventStore
import HTTP
import Service

/// The read API for internal teams: customer profiles and tracked events, message logs and their
/// timelines, and `/v1/Email/` history, all answered from the service's own projections.
///
/// Every sendwithus route is served both at the root and under `/api/v1`.
public enum QueryService: ServiceDefinition {
    public static let name = "query"
    public static let defaultPort = 8083
    public static var migrations: [Migration] { QuerySchema.migrations }

    /// The projection the service keeps: customers and message logs, under one runner.
    static func projections(_ app: ServiceApp) -> [any Projection] {
        [QueryProjections(vault: app.vault)]
    }

    public static func build(_ app: ServiceApp) throws -> Router {
        for p in projections(app) { _ = app.addProjection(p) }
        let consistency = ReadConsistency(app: app)
        var router = Router()
        CustomerRoutes(app: app).register(&router, consistency: consistency, withEvents: false)
        LogRoutes(app: app).register(&router, consistency: consistency)
        router.group("/api/v1") { r in
            CustomerRoutes(app: app).register(&r, consistency: consistency, withEvents: true)
            LogRoutes(app: app).register(&r, consistency: consistency)
        }
        EmailHistoryRoutes(app: app).register(&router, consistency: consistency)
        AdminRoutes(app: app).register(&router)
        return router
    }
}
