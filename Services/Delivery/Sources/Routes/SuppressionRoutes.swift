import Domain
import EventStore
import HTTP
import JSON
import Service

/// `GET /suppressions` and `DELETE /suppressions/{email}` (lifting is recorded as an event).
enum SuppressionRoutes {
    static func add(to router: inout Router, _ ctx: DeliveryContext) {
        router.get("/suppressions") { _, context in
            let tenant = try context.requireTenant()
            let rows = try await ctx.readModel.suppressions(tenant: tenant)
            let items: [JSON] = rows.map { s in
                [
                    "email": s.address.map(JSON.string) ?? .null, "reason": .string(s.reason), "source": .string(s.source),
                    "created": .int64(s.created / 1000),
                ]
            }
            return .json(["success": true, "status": "OK", "suppressions": .array(items)])
        }

        router.delete("/suppressions/:email") { request, context in
            let tenant = try context.requireTenant()
            let email = try context.parameters.require("email")
            return try await ctx.app.idempotency.run(request, tenant: tenant) { identity in
                let found = try await ctx.app.store.pool.withConnection { c in
                    let subject = try ctx.app.vault.addressSubject(tenant: tenant, address: email, on: c)
                    return (subject, try ctx.readModel.suppressions(tenant: tenant, subjects: [subject], on: c)[subject])
                }
                guard found.1 != nil else { throw HTTPError(.notFound, "address is not suppressed") }
                let event = NewEvent(
                    id: identity.eventID(0), type: EventCatalog.suppressionLifted,
                    data: [
                        "address_subject": .string(found.0), "actor": .string(tenant), "occurred_at": .int64(nowMilliseconds()),
                    ], metadata: TemplateRoutes.metadata(request, tenant))
                let result = try await ctx.appendVisible([
                    StreamAppend(
                        tenant: tenant, stream: EventCatalog.suppressionStream(addressSubject: found.0), events: [event])
                ])
                return ctx.written(["success": true, "status": "OK"], result.checkpoint)
            }
        }
    }
}
