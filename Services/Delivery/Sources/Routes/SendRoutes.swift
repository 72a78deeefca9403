import Domain
import EventStore
import Foundation
import HTTP
import JSON
import Service

/// `POST /send` and `POST /resend` (sendwithus).
enum SendRoutes {
    static func add(to router: inout Router, _ ctx: DeliveryContext) {
        router.post("/send") { request, context in
            let tenant = try context.requireTenant()
            return try await ctx.app.idempotency.run(request, tenant: tenant) { identity in
                let send = try SendRequest.validate(try request.decodeJSONBody())
                guard let template = try await ctx.readModel.template(tenant: tenant, id: send.templateID) else {
                    throw HTTPError(.badRequest, "email_id names an unknown template")
                }
                let message = MessageIdentity(identity.key == nil ? RandomUUID.makeTimeOrdered() : identity.eventID(0, salt: "message"))
                let (planned, result) = try await appendRetryingDestroyedKeys(vault: ctx.app.vault) {
                    let (planned, sealed) = try await ctx.app.store.pool.withConnection { c in
                        let subject = try ctx.app.vault.addressSubject(tenant: tenant, address: send.recipient.address, on: c)
                        if let s = try ctx.readModel.suppressions(tenant: tenant, subjects: [subject], on: c)[subject] {
                            throw HTTPError(.unprocessableContent, "the recipient is suppressed (\(s.reason))")
                        }
                        let customer = try ctx.readModel.customer(tenant: tenant, emailSubject: subject, on: c)
                        guard
                            let version = TemplateVersionChoice.choose(
                                template, requestedLocale: send.locale, customerLocale: customer?.locale,
                                versionName: send.versionName)
                        else { throw HTTPError(.badRequest, "version_name names no version of the template") }
                        let planned = MessageRequest(
                            identity: message, template: template, version: version, brandID: nil, emailType: nil,
                            recipientSubject: subject, personal: send.personal)
                        return (planned, try ctx.app.vault.sealPart(send.personal, tenant: tenant, subject: subject, on: c))
                    }
                    let event = MessageEvents.requested(planned, sealed: sealed, id: identity.eventID(0), request: request, tenant: tenant)
                    let append = StreamAppend(
                        tenant: tenant, stream: EventCatalog.messageStream(messageHex: message.hex), expected: .noStream,
                        events: [event], remembersHead: true)
                    let result = try await ctx.app.store.append([append])
                    ctx.recent.remember([append])
                    return (planned, result)
                }
                return ctx.written(
                    [
                        "success": true, "status": "OK", "receipt_id": .string(message.logID),
                        "email": planned.emailSummary,
                    ], result.checkpoint)
            }
        }

        router.post("/resend") { request, context in
            let tenant = try context.requireTenant()
            return try await ctx.app.idempotency.run(request, tenant: tenant) { identity in
                let body = try request.decodeJSONBody()
                guard let logID = body["log_id"]?.stringValue, !logID.isEmpty else {
                    throw HTTPError(.badRequest, "log_id is required")
                }
                guard let message = MessageIdentity(parsing: logID) else { throw HTTPError(.notFound, "log not found") }
                let stream = EventCatalog.messageStream(messageHex: message.hex)
                let events = try await ctx.app.store.readStream(tenant: tenant, stream: stream)
                guard
                    let original = events.last(where: {
                        $0.type == EventCatalog.messageRequested || $0.type == EventCatalog.messageTriggered
                    })
                else { throw HTTPError(.notFound, "log not found") }
                if let subject = original.string("recipient_subject") {
                    let found = try await ctx.app.store.pool.withConnection { c in
                        try ctx.readModel.suppressions(tenant: tenant, subjects: [subject], on: c)[subject]
                    }
                    if let found { throw HTTPError(.unprocessableContent, "the recipient is suppressed (\(found.reason))") }
                }
                let event = NewEvent(
                    id: identity.eventID(0), type: EventCatalog.messageResendRequested,
                    data: MessageEvents.base(message, .requested, text: "resend requested"),
                    metadata: TemplateRoutes.metadata(request, tenant))
                let result = try await ctx.app.store.append([StreamAppend(tenant: tenant, stream: stream, events: [event])])
                let summary: JSON = [
                    "name": original.data["template_name"] ?? .null, "version_name": original.data["template_version"] ?? .null,
                    "locale": original.data["locale"] ?? .null,
                ]
                return ctx.written(
                    ["success": true, "status": "OK", "receipt_id": .string(logID), "email": summary], result.checkpoint)
            }
        }
    }
}

/// Builders of message events (the contract in EventCatalog and the services brief).
enum MessageEvents {
    /// The members every message event carries.
    static func base(_ message: MessageIdentity, _ status: LogStatus, text: String? = nil, provider: MailProvider? = nil)
        -> JSON
    {
        var o: JSONObject = [
            "message_id": .string(message.messageID), "log_id": .string(message.logID),
            "status": .string(status.rawValue), "occurred_at": .int64(nowMilliseconds()),
        ]
        o["message"] = .string(text ?? status.defaultMessage(provider: provider ?? .platform))
        if let provider { o["provider"] = .string(provider.rawValue) }
        return .object(o)
    }

    /// `message.requested` for a planned send, sealed under the recipient's key.
    static func requested(_ planned: MessageRequest, sealed: SealedPart, id: UUID, request: HTTPRequest, tenant: String)
        -> NewEvent
    {
        NewEvent(
            id: id, type: EventCatalog.messageRequested, data: planned.eventData(sealed: sealed.sealed, at: nowMilliseconds()),
            metadata: [
                "key_id": .string(sealed.keyID.uuidString.lowercased()), "request_id": .string(request.requestID),
                "actor": .string(tenant),
            ], keyID: sealed.keyID)
    }
}
