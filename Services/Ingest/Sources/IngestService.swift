import EventStore
import HTTP
import Service

/// The `ingest` executable: every write about customers and their behaviour, validated and
/// appended as events. It owns no read model; `query` serves what it writes.
public enum IngestService: ServiceDefinition {
    public static let name = "ingest"
    public static let defaultPort = 8081
    public static let migrations: [Migration] = []

    public static func build(_ app: ServiceApp) throws -> Router {
        var router = Router()
        let writer = CustomerWriter(app: app)
        CustomerRoutes(app: app, writer: writer).register(&router)
        BatchRoutes(app: app, writer: writer).register(&router)
        return router
    }
}
