import EventStore
import Foundation
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
        let sealing = try PersonalDataSealing.from(environment: ProcessInfo.processInfo.environment)
        if sealing == .plaintextBenchmarkOnly {
            FileHandle.standardError.write(
                Data("ingest: WARNING: \(PersonalDataSealing.variable) is set: personal data is stored IN CLEAR (benchmark only)\n".utf8))
        }
        let writer = CustomerWriter(app: app, sealing: sealing)
        CustomerRoutes(app: app, writer: writer).register(&router)
        BatchRoutes(app: app, writer: writer).register(&router)
        return router
    }
}
