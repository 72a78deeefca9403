import DeliveryService
import Foundation
import HTTP
import IngestService
import QueryService
import Service
import TestSupport

/// The routers of the three services, built as the executables build them but without a
/// database: `build` registers routes, projections and workers and connects to nothing, and the
/// app is shut down before anything starts.
enum ServiceRouters {
    /// The (method, pattern) keys of `service`'s router, in registration order.
    static func routes<S: ServiceDefinition>(of service: S.Type) async throws -> [RouteKey] {
        try await ServiceRoutes.of(service, databaseURL: try TestPostgres.makeDatabase())
            .map { RouteKey(method: $0.method, path: $0.pattern) }
    }

    /// Service name (`ingest`, `query`, `delivery`) → its routes.
    static func all() async throws -> [String: [RouteKey]] {
        [
            IngestService.name: try await routes(of: IngestService.self),
            QueryService.name: try await routes(of: QueryService.self),
            DeliveryService.name: try await routes(of: DeliveryService.self),
        ]
    }
}

/// Files of the repository, found from this source file's location.
enum RepositoryFile {
    static var root: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    static func text(_ relativePath: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent(relativePath), encoding: .utf8)
    }
}
