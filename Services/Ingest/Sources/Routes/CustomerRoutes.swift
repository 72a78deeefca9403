import Domain
import EventStore
import HTTP
import JSON
import Service

/// sendwithus Customers API writes and customer.io Track API v1.
struct CustomerRoutes: Sendable {
    let app: ServiceApp
    let writer: CustomerWriter

    static let ok: JSON = ["success": true, "status": "OK"]

    func register(_ router: inout Router) {
        for prefix in ["", "/api/v1"] {
            router.post(prefix + "/customers") { request, context in try await self.sendwithusUpsert(request, context) }
        }
        // DELETE /customers/{email} (sendwithus) and DELETE /api/v1/customers/{id} (both APIs).
        router.delete("/customers/:id") { request, context in try await self.delete(request, context) }
        router.delete("/api/v1/customers/:id") { request, context in try await self.delete(request, context) }
        router.put("/api/v1/customers/:id") { request, context in try await self.customerIOUpsert(request, context) }
        router.post("/api/v1/customers/:id/events") { request, context in try await self.track(request, context) }
    }

    static func written(_ result: AppendResult) -> HTTPResponse {
        var r = HTTPResponse.json(ok)
        r.headers.add("X-Consistency-Token", result.checkpoint.description)
        return r
    }

    /// The shared shape of a write: idempotency, one append (retried once if an erasure raced
    /// it), and the consistency token.
    func write(
        _ request: HTTPRequest, tenant: String,
        _ stream: @escaping @Sendable (RequestIdentity) async throws -> StreamAppend
    ) async throws -> HTTPResponse {
        try await app.idempotency.run(request, tenant: tenant) { identity in
            Self.written(try await writer.append { [try await stream(identity)] })
        }
    }

    func sendwithusUpsert(_ request: HTTPRequest, _ context: RequestContext) async throws -> HTTPResponse {
        let tenant = try context.requireTenant()
        let body = try request.decodeRequiredBody()
        let upsert = try validated { () throws(IngestValidationError) in try CustomerCommands.sendwithusUpsert(body) }
        return try await write(request, tenant: tenant) {
            try await writer.upsert(upsert, source: "sendwithus", tenant: tenant, eventID: $0.newEventID(0), request: request)
        }
    }

    func customerIOUpsert(_ request: HTTPRequest, _ context: RequestContext) async throws -> HTTPResponse {
        let tenant = try context.requireTenant()
        let id = CustomerIdentity.normalize(try context.parameters.require("id"))
        let body = try request.decodeBody()
        let upsert = try validated { () throws(IngestValidationError) in try CustomerCommands.customerIOUpsert(id: id, body: body) }
        return try await write(request, tenant: tenant) {
            try await writer.upsert(upsert, source: "customerio", tenant: tenant, eventID: $0.newEventID(0), request: request)
        }
    }

    func track(_ request: HTTPRequest, _ context: RequestContext) async throws -> HTTPResponse {
        let tenant = try context.requireTenant()
        let id = CustomerIdentity.normalize(try context.parameters.require("id"))
        let body = try request.decodeBody()
        let event = try validated { () throws(IngestValidationError) in try CustomerCommands.trackedEvent(customerID: id, body: body) }
        return try await write(request, tenant: tenant) {
            try await writer.track(event, tenant: tenant, eventID: $0.newEventID(0), request: request)
        }
    }

    func delete(_ request: HTTPRequest, _ context: RequestContext) async throws -> HTTPResponse {
        let tenant = try context.requireTenant()
        let raw = try context.parameters.require("id")
        let id = CustomerIdentity.normalize(raw)
        _ = try validated { () throws(IngestValidationError) in try CustomerCommands.validatedID(id) }
        // A `{}` body (the customer.io client sends one) or none is fine; anything else is ignored.
        return try await app.idempotency.run(request, tenant: tenant) { identity in
            var attempt = 0
            while true {
                guard let erasure = try await writer.erasure(
                    customerID: id, tenant: tenant, eventID: { identity.newEventID($0) }, request: request)
                else { throw HTTPError(.notFound, "customer not found") }
                do {
                    let result = try await app.store.append(erasure.appends)
                    try await writer.destroyKeys(tenant: tenant, subjects: erasure.subjects)
                    return Self.written(result)
                } catch AppendError.wrongExpectedVersion where attempt < 3 {
                    attempt += 1  // a write raced the delete: read the stream again
                }
            }
        }
    }
}

/// Runs a validation step, turning its error into a 400.
func validated<T>(_ body: () throws(IngestValidationError) -> T) throws(HTTPError) -> T {
    do { return try body() } catch { throw HTTPError(.badRequest, error.description) }
}
