import Domain
import EventStore
import Foundation
import HTTP
import JSON
import Service

/// `POST /triggers`, `GET /triggers`, `GET /triggers/{id}`, `DELETE /triggers/{id}` (deactivates;
/// the history stays in the trigger's stream). Envelopes: `{"success": true, "status": "OK",
/// "trigger": {...}}` and `{"success": true, "status": "OK", "triggers": [...]}`.
struct TriggerRoutes: Sendable {
    let app: ServiceApp

    func register(_ router: inout Router) {
        router.post("/triggers") { request, context in try await create(request, context) }
        router.get("/triggers") { _, context in try await list(context) }
        router.get("/triggers/:id") { _, context in try await show(context) }
        router.delete("/triggers/:id") { request, context in try await deactivate(request, context) }
    }

    static func envelope(_ members: JSONObject) -> JSON {
        var o: JSONObject = ["success": true, "status": "OK"]
        for (k, v) in members.members { o[k] = v }
        return .object(o)
    }

    private func create(_ request: HTTPRequest, _ context: RequestContext) async throws -> HTTPResponse {
        let tenant = try context.requireTenant()
        let body = try request.decodeJSONBody()
        return try await app.idempotency.run(request, tenant: tenant) { identity in
            let id = identity.key == nil ? UUID() : identity.eventID(0, salt: "trigger-id")
            let definition: TriggerDefinition
            do { definition = try TriggerDefinition.parse(body, id: id) } catch let e as TriggerValidationError { throw HTTPError(.badRequest, e.description) }
            let now = TriggerEvents.nowMilliseconds()
            var data = definition.eventData
            data["occurred_at"] = .int64(now)
            let event = NewEvent(
                id: identity.eventID(1), type: TriggerEvents.triggerCreated, data: .object(data),
                metadata: ["request_id": .string(request.requestID), "actor": .string(tenant)])
            let result = try await app.store.append(
                StreamAppend(tenant: tenant, stream: TriggerEvents.triggerStream(id), events: [event]))
            var response = HTTPResponse.json(
                Self.envelope(["trigger": definition.response(active: true, created: now / 1000)]), status: .created)
            response.headers.add("X-Consistency-Token", result.checkpoint.description)
            return response
        }
    }

    private func list(_ context: RequestContext) async throws -> HTTPResponse {
        let tenant = try context.requireTenant()
        let rows = try await app.store.pool.execute(
            """
            SELECT definition::text, active, created_at FROM trigger_definitions WHERE tenant = $1
            ORDER BY created_at, trigger_id LIMIT 1000
            """, [tenant])
        let triggers: [JSON] = rows.rows.compactMap { r in
            guard let o = (try? JSON.parse(Array((r[0] ?? "").utf8)))?.objectValue, let t = TriggerDefinition(eventData: o)
            else { return nil }
            return t.response(active: r.bool(1) ?? false, created: (r.int64(2) ?? 0) / 1000)
        }
        return .json(Self.envelope(["triggers": .array(triggers)]))
    }

    /// The trigger's current state from its own stream (consistent right after a write).
    private func load(tenant: String, _ context: RequestContext) async throws -> (TriggerDefinition, Bool, Int64, Int64) {
        guard let id = MessageIdentity(parsing: try context.parameters.require("id"))?.uuid else {
            throw HTTPError(.notFound, "trigger not found")
        }
        let events = try await app.store.readStream(tenant: tenant, stream: TriggerEvents.triggerStream(id))
        guard let first = events.first, first.type == TriggerEvents.triggerCreated, let o = first.data.objectValue,
            let t = TriggerDefinition(eventData: o)
        else { throw HTTPError(.notFound, "trigger not found") }
        let active = !events.contains { $0.type == TriggerEvents.triggerDeactivated }
        let created = (o["occurred_at"]?.numberText.flatMap { Int64($0) } ?? 0) / 1000
        return (t, active, created, events.last?.version ?? 0)
    }

    private func show(_ context: RequestContext) async throws -> HTTPResponse {
        let tenant = try context.requireTenant()
        let (t, active, created, _) = try await load(tenant: tenant, context)
        return .json(Self.envelope(["trigger": t.response(active: active, created: created)]))
    }

    private func deactivate(_ request: HTTPRequest, _ context: RequestContext) async throws -> HTTPResponse {
        let tenant = try context.requireTenant()
        return try await app.idempotency.run(request, tenant: tenant) { identity in
            let (t, active, created, version) = try await load(tenant: tenant, context)
            var response = HTTPResponse.json(Self.envelope(["trigger": t.response(active: false, created: created)]))
            guard active else { return response }
            let event = NewEvent(
                id: identity.eventID(0), type: TriggerEvents.triggerDeactivated,
                data: ["trigger_id": .string(TriggerEvents.lowercased(t.id)), "occurred_at": .int64(TriggerEvents.nowMilliseconds())],
                metadata: ["request_id": .string(request.requestID), "actor": .string(tenant)])
            do {
                let result = try await app.store.append(
                    StreamAppend(tenant: tenant, stream: TriggerEvents.triggerStream(t.id), expected: .exact(version), events: [event]))
                response.headers.add("X-Consistency-Token", result.checkpoint.description)
            } catch AppendError.wrongExpectedVersion {
                // Deactivated concurrently: the outcome is the same.
            }
            return response
        }
    }
}
