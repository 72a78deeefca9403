import Domain
import EventStore
import HTTP
import JSON
import Service

/// `POST /templates`, `POST /templates/{id}/versions`, `GET /templates`, `GET /templates/{id}`.
enum TemplateRoutes {
    static func add(to router: inout Router, _ ctx: DeliveryContext) {
        router.post("/templates") { request, context in
            let tenant = try context.requireTenant()
            return try await ctx.app.idempotency.run(request, tenant: tenant) { identity in
                let draft: TemplateDraft
                do { draft = try TemplateDraft.validate(try request.decodeJSONBody()) } catch let e as TemplateSaveError {
                    return e.response
                }
                let templateID = GeneratedID.make("tem_", from: identity.eventID(0, salt: "template-id"))
                let versionID = GeneratedID.make("ver_", from: identity.eventID(0, salt: "version-id"))
                let locale = draft.locale ?? TemplateDraft.defaultLocale
                let at = nowMilliseconds()
                let created = NewEvent(
                    id: identity.eventID(0), type: EventCatalog.templateCreated,
                    data: [
                        "template_id": .string(templateID), "name": .string(draft.name), "locale": .string(locale),
                        "occurred_at": .int64(at),
                    ], metadata: metadata(request, tenant))
                let version = NewEvent(
                    id: identity.eventID(1), type: EventCatalog.templateVersionAdded,
                    data: draft.versionData(templateID: templateID, versionID: versionID, locale: locale, at: at),
                    metadata: metadata(request, tenant))
                let result = try await ctx.appendVisible([
                    StreamAppend(
                        tenant: tenant, stream: EventCatalog.templateStream(templateID: templateID), events: [created, version])
                ])
                let record = TemplateRecord(
                    id: templateID, name: draft.name, defaultLocale: locale, created: at / 1000,
                    versions: [
                        TemplateVersionRecord(
                            id: versionID, name: draft.name, subject: draft.subject, html: draft.html, text: draft.text,
                            locale: locale, created: at / 1000)
                    ])
                return ctx.written(record.json(full: false), result.checkpoint)
            }
        }

        router.post("/templates/:id/versions") { request, context in
            let tenant = try context.requireTenant()
            let id = try context.parameters.require("id")
            return try await ctx.app.idempotency.run(request, tenant: tenant) { identity in
                guard let template = try await ctx.readModel.template(tenant: tenant, id: id) else {
                    throw HTTPError(.notFound, "template not found")
                }
                let draft: TemplateDraft
                do { draft = try TemplateDraft.validate(try request.decodeJSONBody()) } catch let e as TemplateSaveError {
                    return e.response
                }
                let versionID = GeneratedID.make("ver_", from: identity.eventID(0, salt: "version-id"))
                let locale = draft.locale ?? template.defaultLocale
                let at = nowMilliseconds()
                let event = NewEvent(
                    id: identity.eventID(0), type: EventCatalog.templateVersionAdded,
                    data: draft.versionData(templateID: id, versionID: versionID, locale: locale, at: at),
                    metadata: metadata(request, tenant))
                let result = try await ctx.appendVisible([
                    StreamAppend(
                        tenant: tenant, stream: EventCatalog.templateStream(templateID: id), expected: .streamExists,
                        events: [event])
                ])
                let version = TemplateVersionRecord(
                    id: versionID, name: draft.name, subject: draft.subject, html: draft.html, text: draft.text,
                    locale: locale, created: at / 1000)
                var body = version.json(full: true).objectValue ?? [:]
                body["template_id"] = .string(id)
                return ctx.written(.object(body), result.checkpoint)
            }
        }

        router.get("/templates") { _, context in
            let tenant = try context.requireTenant()
            let templates = try await ctx.readModel.templates(tenant: tenant)
            return .json(.array(templates.map { $0.json(full: false) }))
        }

        router.get("/templates/:id") { _, context in
            let tenant = try context.requireTenant()
            let id = try context.parameters.require("id")
            guard let template = try await ctx.readModel.template(tenant: tenant, id: id) else {
                throw HTTPError(.notFound, "template not found")
            }
            return .json(template.json(full: true))
        }
    }

    /// Metadata of events written by a request.
    static func metadata(_ request: HTTPRequest, _ tenant: String) -> JSON {
        ["request_id": .string(request.requestID), "actor": .string(tenant)]
    }
}
