import Dispatch
import EventStore
import HTTP
import Mail
import Service

/// The `delivery` executable: templates and brands, sending (`/send`, `/v1/Email/`, `/resend`),
/// the suppression list, and the outbox worker that hands messages to the mail transport and
/// records every step as message events.
public enum DeliveryService: ServiceDefinition {
    public static let name = "delivery"
    public static let defaultPort = 8082
    public static var migrations: [Migration] { DeliverySchema.migrations }

    public static func build(_ app: ServiceApp) throws -> Router {
        let settings = try DeliverySettings(app.configuration.environment)
        let transport: any MailTransport
        do {
            transport = try settings.transport.makeTransport()
        } catch {
            throw ConfigurationError("MAIL_TRANSPORT: the TLS configuration cannot be loaded")
        }
        let readModel = DeliveryReadModel(pool: app.store.pool)
        let recent = RecentRequests()
        var sender = MessageSender(
            app: app, readModel: readModel, settings: settings, transport: transport,
            composer: MessageComposer(fromDomain: settings.fromDomain, defaultFrom: settings.defaultFrom), recent: recent,
            metrics: OutboxMetrics(app.metrics))

        _ = app.addProjection(TemplateProjection())
        _ = app.addProjection(BrandProjection())
        _ = app.addProjection(CustomerProjection(vault: app.vault))
        _ = app.addProjection(SuppressionProjection(vault: app.vault))
        // The projection notifies the worker's channel when it commits due rows, and moves the
        // rows of the worker's events (the worker waits for it while it runs here).
        sender.outbox = app.addProjection(OutboxProjection()).progress
        let worker = OutboxWorker(url: app.configuration.databaseURL, sender: sender, concurrency: settings.concurrency)
        app.addWorker(worker)
        app.metrics.computedGauge("delivery_outbox_leader", help: "1 when this replica's outbox worker leads") {
            worker.isLeader ? 1 : 0
        }
        app.metrics.computedGauge("delivery_sends_in_flight", help: "Claimed messages not yet recorded as sent or failed") {
            Double(worker.inFlightCount)
        }

        let ctx = DeliveryContext(app: app, readModel: readModel, settings: settings, recent: recent)
        var router = Router()
        for prefix in ["/", "/api/v1"] {
            router.group(prefix) { r in
                TemplateRoutes.add(to: &r, ctx)
                SendRoutes.add(to: &r, ctx)
            }
        }
        BrandRoutes.add(to: &router, ctx)
        EmailRoutes.add(to: &router, ctx)
        SuppressionRoutes.add(to: &router, ctx)
        try WebhookModule(app: app).register(&router)
        try TriggerModule(app: app).register(&router)
        return router
    }
}
