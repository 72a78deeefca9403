import Foundation
import HTTP
import Service

/// The routes of a service, built as its executable builds them but started against nothing:
/// `build` registers routes, projections and workers without connecting, and the app is shut
/// down before anything starts.
public enum ServiceRoutes {
    public static func of<S: ServiceDefinition>(_ service: S.Type, databaseURL: String) async throws -> [Router.Route] {
        let outbox = NSTemporaryDirectory() + "service-routes-outbox"
        let configuration = try ServiceConfiguration(
            environment: EnvironmentReader(["DATABASE_URL": databaseURL, "API_KEYS": "s:k", "MAIL_TRANSPORT": "file://" + outbox]),
            defaultPort: 0)
        let app = ServiceApp(name: S.name, configuration: configuration)
        let router: Router
        do {
            router = try S.build(app)
        } catch {
            await app.shutdown()
            throw error
        }
        await app.shutdown()
        return router.routes
    }
}
