import Domain
import EventStore
import HTTP
import JSON
import Service

/// `PUT /v1/Brands/{BrandId}` and `GET /v1/Brands/{BrandId}`: a brand's sender and which template
/// each `/v1/Email/` Type uses.
enum BrandRoutes {
    static func add(to router: inout Router, _ ctx: DeliveryContext) {
        router.put("/v1/Brands/:brand") { request, context in
            await V1ErrorShape.run {
                let tenant = try context.requireTenant()
                let brandID = try context.parameters.require("brand")
                return try await ctx.app.idempotency.run(request, tenant: tenant) { identity in
                    let draft = try BrandDraft.validate(brandID: brandID, try request.decodeJSONBody())
                    let known = Set(try await ctx.readModel.templates(tenant: tenant).map(\.id))
                    for (type, id) in draft.templates where !known.contains(id) {
                        throw HTTPError(.badRequest, "Templates.\(type) names an unknown template")
                    }
                    let data = draft.eventData(at: nowMilliseconds())
                    let event = NewEvent(
                        id: identity.eventID(0), type: EventCatalog.brandSaved, data: data,
                        metadata: TemplateRoutes.metadata(request, tenant))
                    let result = try await ctx.appendVisible([
                        StreamAppend(tenant: tenant, stream: EventCatalog.brandStream(brandID: brandID), events: [event])
                    ])
                    return ctx.written(BrandDraft.wireShape(data.objectValue ?? [:]), result.checkpoint)
                }
            }
        }

        router.get("/v1/Brands/:brand") { _, context in
            await V1ErrorShape.run {
                let tenant = try context.requireTenant()
                let brandID = try context.parameters.require("brand")
                guard let brand = try await ctx.readModel.brand(tenant: tenant, id: brandID) else {
                    throw HTTPError(.notFound, "brand not found")
                }
                return .json(BrandDraft.wireShape(brand))
            }
        }
    }
}
