import Domain
import EventStore
import Foundation
import HTTP
import JSON
import Postgres
import Service

/// `POST /v1/Email/` (seed 003): 1 to 100 messages, each validated and answered on its own, in
/// request order; the valid ones are appended together in one atomic append.
enum EmailRoutes {
    static let maximumMessages = 100

    static func add(to router: inout Router, _ ctx: DeliveryContext) {
        router.post("/v1/Email") { request, context in
            await V1ErrorShape.run {
                let tenant = try context.requireTenant()
                return try await ctx.app.idempotency.run(request, tenant: tenant) { identity in
                    try await send(request, tenant: tenant, identity: identity, ctx)
                }
            }
        }
    }

    /// A message that passed validation and lookups, waiting for its recipient checks.
    private struct Candidate: Sendable {
        var index: Int
        var request: EmailSendRequest
        var template: TemplateRecord
    }

    private static func send(_ request: HTTPRequest, tenant: String, identity: RequestIdentity, _ ctx: DeliveryContext)
        async throws -> HTTPResponse
    {
        let body = try request.decodeJSONBody()
        guard case .object(let o) = body, case .array(let messages)? = o["Messages"] else {
            throw HTTPError(.badRequest, "Messages is required: a list of 1 to \(maximumMessages) messages")
        }
        guard (1...maximumMessages).contains(messages.count) else {
            throw HTTPError(.badRequest, "Messages must hold 1 to \(maximumMessages) messages")
        }
        var results = [JSON?](repeating: nil, count: messages.count)
        func refuse(_ index: Int, _ status: Int, _ message: String) {
            results[index] = ["Status": .int(status), "Error": .string(message)]
        }
        var brands: [String: JSONObject?] = [:]
        var templates: [String: TemplateRecord?] = [:]
        var candidates: [Candidate] = []
        for (index, message) in messages.enumerated() {
            let validated: EmailSendRequest
            do { validated = try EmailSendRequest.validate(message) } catch {
                refuse(index, 400, error.description)
                continue
            }
            if brands[validated.brandID] == nil {
                brands[validated.brandID] = .some(try await ctx.readModel.brand(tenant: tenant, id: validated.brandID))
            }
            guard let brand = brands[validated.brandID] ?? nil else {
                refuse(index, 400, "BrandId names an unknown brand")
                continue
            }
            guard let templateID = brand["templates"]?[validated.type.rawValue]?.stringValue else {
                refuse(index, 422, "the brand has no template for Type \(validated.type.rawValue)")
                continue
            }
            if templates[templateID] == nil {
                templates[templateID] = .some(try await ctx.readModel.template(tenant: tenant, id: templateID))
            }
            guard let template = templates[templateID] ?? nil else {
                refuse(index, 422, "the brand's template for Type \(validated.type.rawValue) does not exist")
                continue
            }
            candidates.append(Candidate(index: index, request: validated, template: template))
        }
        var checkpoint: Checkpoint?
        if !candidates.isEmpty {
            let candidatesNow = candidates
            let (outcomes, result) = try await appendRetryingDestroyedKeys(vault: ctx.app.vault) {
                let outcomes = try await ctx.app.store.pool.withConnection { c in
                    try plan(candidatesNow, tenant: tenant, identity: identity, ctx, on: c)
                }
                var appends: [StreamAppend] = []
                for case .planned(_, let planned, let sealed) in outcomes {
                    let event = MessageEvents.requested(
                        planned, sealed: sealed, id: identity.eventID(0, salt: "requested-" + planned.identity.hex),
                        request: request, tenant: tenant)
                    // A new stream (no head to look up), whose head the worker's `queued` then needs.
                    appends.append(
                        StreamAppend(
                            tenant: tenant, stream: EventCatalog.messageStream(messageHex: planned.identity.hex),
                            expected: .noStream, events: [event], remembersHead: true))
                }
                let result = appends.isEmpty ? nil : try await ctx.app.store.append(appends)
                ctx.recent.remember(appends)
                return (outcomes, result)
            }
            checkpoint = result?.checkpoint
            for outcome in outcomes {
                switch outcome {
                case .planned(let index, let planned, _):
                    results[index] = ["Status": 200, "MessageId": .string(planned.identity.messageID)]
                case .refused(let index, let status, let message):
                    refuse(index, status, message)
                }
            }
        }
        let answer = JSON.object(["Results": .array(results.map { $0 ?? .null })])
        if let checkpoint { return ctx.written(answer, checkpoint) }
        return .json(answer)
    }

    private enum Outcome: Sendable {
        case planned(index: Int, MessageRequest, SealedPart)
        case refused(index: Int, status: Int, message: String)
    }

    /// Recipient checks (suppression), locale choice and sealing, on one connection.
    private static func plan(
        _ candidates: [Candidate], tenant: String, identity: RequestIdentity, _ ctx: DeliveryContext,
        on c: PostgresConnection
    ) throws -> [Outcome] {
        let vault = ctx.app.vault
        let subjects = try candidates.map { try vault.addressSubject(tenant: tenant, address: $0.request.to, on: c) }
        let suppressed = try ctx.readModel.suppressions(tenant: tenant, subjects: subjects, on: c)
        let customers = try ctx.readModel.customers(tenant: tenant, emailSubjects: subjects, on: c)
        let keys = try vault.keysForWriting(
            tenant: tenant, subjectHashes: zip(candidates, subjects).filter { suppressed[$0.1] == nil }.map(\.1), on: c)
        var outcomes: [Outcome] = []
        for (candidate, subject) in zip(candidates, subjects) {
            if let s = suppressed[subject] {
                outcomes.append(.refused(index: candidate.index, status: 422, message: "the recipient is suppressed (\(s.reason))"))
                continue
            }
            let customer = customers[subject]
            guard
                let version = TemplateVersionChoice.choose(
                    candidate.template, requestedLocale: nil, customerLocale: customer?.locale, versionName: nil)
            else {
                outcomes.append(.refused(index: candidate.index, status: 422, message: "the brand's template has no version"))
                continue
            }
            let details = JSON.object(candidate.request.msgDetails)
            let personal: JSON = [
                "recipient": ["address": .string(candidate.request.to)], "cc": [], "bcc": [], "email_data": details,
                "headers": .object([:]), "tags": [], "msg_details": details,
            ]
            let message = MessageIdentity(
                identity.key == nil ? RandomUUID.makeTimeOrdered() : identity.eventID(candidate.index, salt: "message"))
            let planned = MessageRequest(
                identity: message, template: candidate.template, version: version, brandID: candidate.request.brandID,
                emailType: candidate.request.type.rawValue, recipientSubject: subject, personal: personal)
            guard let key = keys[subject] else { throw PostgresError(code: .serverError) }
            let sealed = SealedPart(subject: subject, sealed: try vault.seal(personal, with: key, tenant: tenant), keyID: key.id)
            outcomes.append(.planned(index: candidate.index, planned, sealed))
        }
        return outcomes
    }
}
