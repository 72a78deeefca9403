import EventStore
import HTTP
import Postgres
import Service

/// Provider webhooks for the delivery service: SendGrid, Amazon SES (through SNS), Postmark and
/// Mailgun. Verifies each request, stores its events on the right log (or keeps them until the
/// log appears), deduplicates provider retries and records suppressions.
///
/// Create it in the service's `build(app)` and register its routes:
/// ```swift
/// let webhooks = try WebhookModule(app: app)
/// webhooks.register(&router)
/// ```
/// `init` reads `WEBHOOKS_CONFIG` / `SNS_CERT_URL_PREFIXES` and the retention settings
/// (`WEBHOOK_CORRELATION_RETENTION_DAYS`, `WEBHOOK_UNMATCHED_RETENTION_DAYS`), migrates the
/// module's own tables (component `delivery_webhooks`), and registers the correlation
/// projection, the worker that attaches pending events and the one that applies retention.
public struct WebhookModule: Sendable {
    let routes: WebhookRoutes

    /// Throws a `ConfigurationError` for a missing or malformed `WEBHOOKS_CONFIG` file, and the
    /// database error when the module's tables cannot be migrated.
    public init(app: ServiceApp) throws {
        let configuration = try WebhookConfiguration.load(from: app.configuration.environment)
        let retention = try WebhookRetention.Configuration.load(from: app.configuration.environment)
        try Self.migrate(databaseURL: app.configuration.databaseURL)
        _ = app.addProjection(CorrelationProjection())
        app.addWorker(PendingEventAttacher(app: app))
        app.addWorker(WebhookRetention(app: app, configuration: retention))
        routes = WebhookRoutes(
            app: app, configuration: configuration, recorder: WebhookRecorder(app: app),
            certificates: SNSCertificateStore(policy: configuration.snsURLPolicy), mailgunTokens: MailgunTokenLedger(app: app))
    }

    /// Adds `POST /webhooks/{sendgrid,ses,postmark,mailgun}/:site` (no API-key authentication).
    public func register(_ router: inout Router) {
        routes.register(&router)
    }

    /// The module's migrations (applied by `init` under their own component).
    public static var migrations: [Migration] { WebhookSchema.migrations }

    /// Applies the module's migrations on a connection of its own (`build` is synchronous).
    static func migrate(databaseURL: String) throws {
        let connection = try PostgresConnection(url: databaseURL)
        defer { connection.close() }
        try Migrator.migrate(connection, component: WebhookSchema.component, migrations: WebhookSchema.migrations)
    }
}
