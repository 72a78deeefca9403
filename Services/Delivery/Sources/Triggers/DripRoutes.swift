import EventStore
import Foundation
import HTTP
import JSON
import Service

/// sendwithus' drip API: `POST /drip_campaigns`, `GET /drip_campaigns`, `GET /drip_campaigns/{id}`,
/// `POST /drip_campaigns/{id}/activate`, `POST /drip_campaigns/{id}/deactivate`,
/// `POST /drips/deactivate`. Registered at the root and under `/api/v1`.
struct DripRoutes: Sendable {
    let app: ServiceApp
    let scheduler: DripScheduler

    func register(_ router: inout Router) {
        router.post("/drip_campaigns") { request, context in try await create(request, context) }
        router.get("/drip_campaigns") { _, context in try await list(context) }
        router.get("/drip_campaigns/:id") { _, context in
            let tenant = try context.requireTenant()
            return .json(try await load(tenant: tenant, context).0.response(created: nil))
        }
        router.post("/drip_campaigns/:id/activate") { request, context in try await activate(request, context) }
        router.post("/drip_campaigns/:id/deactivate") { request, context in try await deactivate(request, context) }
        router.post("/drips/deactivate") { request, context in try await deactivateAll(request, context) }
    }

    private func create(_ request: HTTPRequest, _ context: RequestContext) async throws -> HTTPResponse {
        let tenant = try context.requireTenant()
        let body = try request.decodeJSONBody()
        return try await app.idempotency.run(request, tenant: tenant) { identity in
            let id = identity.key == nil ? UUID() : identity.eventID(0, salt: "drip-campaign-id")
            let campaign: DripCampaign
            do { campaign = try DripCampaign.parse(body, id: id) } catch let e as TriggerValidationError { throw HTTPError(.badRequest, e.description) }
            let now = TriggerEvents.nowMilliseconds()
            var data = campaign.eventData
            data["occurred_at"] = .int64(now)
            let event = NewEvent(
                id: identity.eventID(1), type: TriggerEvents.dripCampaignCreated, data: .object(data),
                metadata: ["request_id": .string(request.requestID), "actor": .string(tenant)])
            let result = try await app.store.append(
                StreamAppend(tenant: tenant, stream: TriggerEvents.campaignStream(id), expected: .noStream, events: [event]))
            var response = HTTPResponse.json(
                TriggerRoutes.envelope(["drip_campaign": campaign.response(created: now / 1000)]), status: .created)
            response.headers.add("X-Consistency-Token", result.checkpoint.description)
            return response
        }
    }

    private func list(_ context: RequestContext) async throws -> HTTPResponse {
        let tenant = try context.requireTenant()
        let rows = try await app.store.pool.execute(
            """
            SELECT campaign_id::text, name, steps::text, created_at FROM drip_campaigns WHERE tenant = $1
            ORDER BY created_at, campaign_id LIMIT 1000
            """, [tenant])
        let campaigns: [JSON] = rows.rows.compactMap { r in
            guard let id = r[0], let name = r[1], let steps = try? JSON.parse(Array((r[2] ?? "[]").utf8)),
                let c = DripCampaign(eventData: ["drip_campaign_id": .string(id), "name": .string(name), "steps": steps])
            else { return nil }
            return c.response(created: (r.int64(3) ?? 0) / 1000)
        }
        return .json(.array(campaigns))
    }

    /// The campaign from its own stream (consistent right after its creation).
    private func load(tenant: String, _ context: RequestContext) async throws -> (DripCampaign, Int64) {
        guard let id = DripCampaign.parseID(try context.parameters.require("id")) else {
            throw HTTPError(.notFound, "drip campaign not found")
        }
        let events = try await app.store.readStream(tenant: tenant, stream: TriggerEvents.campaignStream(id))
        guard let first = events.first, let o = first.data.objectValue, let c = DripCampaign(eventData: o) else {
            throw HTTPError(.notFound, "drip campaign not found")
        }
        return (c, (o["occurred_at"]?.numberText.flatMap { Int64($0) } ?? 0) / 1000)
    }

    private func summary(_ c: DripCampaign) -> JSON {
        ["id": .string("dc_" + TriggerEvents.hex(c.id)), "name": .string(c.name)]
    }

    private func activate(_ request: HTTPRequest, _ context: RequestContext) async throws -> HTTPResponse {
        let tenant = try context.requireTenant()
        let body = try request.decodeJSONBody()
        let activation: DripActivation
        do { activation = try DripActivation.parse(body) } catch { throw HTTPError(.badRequest, error.description) }
        let (campaign, _) = try await load(tenant: tenant, context)
        return try await app.idempotency.run(request, tenant: tenant) { identity in
            let activationID = identity.key == nil ? UUID() : identity.eventID(0, salt: "drip-activation")
            let ids = (0..<campaign.steps.count).map { i in
                identity.key == nil ? UUID() : identity.eventID(i + 1, salt: "drip-activation")
            }
            let (result, steps) = try await scheduler.activate(
                campaign, activation, tenant: tenant, activationID: activationID, eventID: { ids[$0] })
            var response = HTTPResponse.json(
                TriggerRoutes.envelope([
                    "drip_campaign": summary(campaign), "message": "Recipient successfully added to drip campaign.",
                    "recipient_address": .string(activation.address),
                    "scheduled": .array(
                        steps.map {
                            ["log_id": .string($0.message.logID), "template_id": .string($0.templateID), "due_at": .int64($0.dueAt / 1000)]
                        }),
                ]))
            response.headers.add("X-Consistency-Token", result.checkpoint.description)
            return response
        }
    }

    private static func address(_ body: JSON, _ field: String) throws -> String {
        guard let a = body[field]?.stringValue, !a.isEmpty, a.utf8.count <= 320 else {
            throw HTTPError(.badRequest, "\(field) is required")
        }
        return a.lowercased()
    }

    private func waitIfAsked(_ request: HTTPRequest) async throws {
        if let t = request.headers["X-Consistency-Token"].flatMap(Checkpoint.init(token:)) { try await app.waitForConsistency(t) }
    }

    private func deactivate(_ request: HTTPRequest, _ context: RequestContext) async throws -> HTTPResponse {
        let tenant = try context.requireTenant()
        let address = try Self.address(try request.decodeJSONBody(), "recipient_address")
        let (campaign, _) = try await load(tenant: tenant, context)
        try await waitIfAsked(request)
        return try await app.idempotency.run(request, tenant: tenant) { _ in
            let (count, checkpoint) = try await scheduler.cancel(
                tenant: tenant, address: address, campaign: campaign.id, reason: "deactivated")
            var response = HTTPResponse.json(
                TriggerRoutes.envelope([
                    "drip_campaign": summary(campaign), "message": "Recipient successfully removed from drip campaign.",
                    "recipient_address": .string(address), "cancelled_steps": .int(count),
                ]))
            if let checkpoint { response.headers.add("X-Consistency-Token", checkpoint.description) }
            return response
        }
    }

    private func deactivateAll(_ request: HTTPRequest, _ context: RequestContext) async throws -> HTTPResponse {
        let tenant = try context.requireTenant()
        let address = try Self.address(try request.decodeJSONBody(), "email_address")
        try await waitIfAsked(request)
        return try await app.idempotency.run(request, tenant: tenant) { _ in
            let (count, checkpoint) = try await scheduler.cancel(
                tenant: tenant, address: address, campaign: nil, reason: "deactivated from all drip campaigns")
            var response = HTTPResponse.json(
                TriggerRoutes.envelope([
                    "message": "Recipient successfully removed from all drip campaigns.", "email_address": .string(address),
                    "recipient_address": .string(address), "cancelled_steps": .int(count),
                ]))
            if let checkpoint { response.headers.add("X-Consistency-Token", checkpoint.description) }
            return response
        }
    }
}
