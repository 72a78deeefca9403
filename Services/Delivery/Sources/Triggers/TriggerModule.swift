import EventStore
import Foundation
import HTTP
import Postgres
import Service

/// Triggered emails and drip campaigns, as one module of the delivery service.
///
/// `init(app:)` migrates the module's tables (component `delivery_triggers`), registers the
/// trigger projection (`delivery_triggers`) and the scheduled-send dispatcher on `app`;
/// `register(_:)` adds the routes (at the root and under `/api/v1`). The module decides what to
/// send and appends `message.triggered` events; the delivery outbox renders and sends them.
/// When it appends a `message.triggered` the dispatcher names the template from delivery's
/// template tables like `/send` does (`TriggeredTemplate`: `template_id`, `template_name`,
/// `template_version`, `template_version_id`); where they cannot be read the names stay "" and
/// the outbox resolves the template (a brand's template of `email_type`) when it renders.
/// A suppression (`suppression.added`) cancels the recipient's pending drip steps with a reason.
public struct TriggerModule: Sendable {
    let app: ServiceApp
    let scheduler: DripScheduler
    /// The trigger projection's runner (rebuilds, read-your-writes).
    public let runner: ProjectionRunner

    /// Migrates the module's tables and registers its projection and dispatcher on `app`.
    /// Call from the service's `build(app)`, before `app.start`.
    public init(app: ServiceApp) throws {
        self.app = app
        // build(app) is synchronous; the migration runs once at start on its own connection.
        let connection = try PostgresConnection(url: app.configuration.databaseURL)
        defer { connection.close() }
        try Migrator.migrate(connection, component: TriggerSchema.component, migrations: TriggerSchema.migrations)
        scheduler = DripScheduler(app: app)
        runner = app.addProjection(TriggerProjection(vault: app.vault))
        app.addWorker(
            ScheduledSendDispatcher(url: app.configuration.databaseURL, store: app.store, vault: app.vault, logger: app.logger))
    }

    /// Adds `/triggers…` (ours, at the root), and the sendwithus `/drip_campaigns…` and
    /// `/drips/deactivate`, also under `/api/v1`.
    public func register(_ router: inout Router) {
        let triggers = TriggerRoutes(app: app)
        let drips = DripRoutes(app: app, scheduler: scheduler)
        triggers.register(&router)
        drips.register(&router)
        router.group("/api/v1") { sub in drips.register(&sub) }
    }

    /// Cancels the pending drip steps of `address` in every campaign with `reason` (for the
    /// suppression list: "A suppressed recipient's pending steps are cancelled with a reason").
    /// Returns how many steps were cancelled.
    @discardableResult
    public func cancelPendingDrips(tenant: String, address: String, reason: String) async throws -> Int {
        try await scheduler.cancel(tenant: tenant, address: address, campaign: nil, reason: reason).0
    }
}
