import Foundation
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
        // The three writes of one event start on the I/O thread and are answered by the event
        // store's committer when all they need is cached (see `writeNow`).
        for prefix in ["", "/api/v1"] {
            router.deferred("POST", prefix + "/customers") { request, context, responder in
                try self.writeNow(request, responder, try self.sendwithusUpsert(request, context))
            }
        }
        // DELETE /customers/{email} (sendwithus) and DELETE /api/v1/customers/{id} (both APIs).
        router.delete("/customers/:id") { request, context in try await self.delete(request, context) }
        router.delete("/api/v1/customers/:id") { request, context in try await self.delete(request, context) }
        router.deferred("PUT", "/api/v1/customers/:id") { request, context, responder in
            try self.writeNow(request, responder, try self.customerIOUpsert(request, context))
        }
        router.deferred("POST", "/api/v1/customers/:id/events") { request, context, responder in
            try self.writeNow(request, responder, try self.track(request, context))
        }
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

    /// A parsed and validated single-event write, ready to be built two ways.
    struct OneEventWrite: Sendable {
        let tenant: String
        /// Builds the append without waiting; nil when the subject's hash or key is not cached.
        let now: @Sendable () throws -> StreamAppend?
        /// Builds the append, fetching or creating what is missing.
        let later: @Sendable (RequestIdentity) async throws -> StreamAppend
    }

    /// A write without an `Idempotency-Key` whose subject hash and key are cached is built on the
    /// I/O thread and answered from the committer's completion: no Task hop on the way in or out.
    /// Anything else (`now` returns nil, a key, an erasure that raced it) takes the async path,
    /// `write`; nothing was appended by the fast attempt.
    func writeNow(_ request: HTTPRequest, _ responder: HTTPResponder, _ write: OneEventWrite) throws {
        guard request.headers["Idempotency-Key"] == nil, let unit = try write.now() else {
            return respondLater(request, responder, write)
        }
        let writer = self.writer
        app.store.append([unit]) { result in
            switch result {
            case .success(let appended):
                responder.respond(Self.written(appended))
            case .failure(AppendError.keyDestroyed):
                writer.forgetWritingKeys(of: [unit])
                self.respondLater(request, responder, write)
            case .failure(let error):
                responder.respond(.from(error: error))
            }
        }
    }

    /// The async path of a single-event write: idempotency, keys fetched or created, the append.
    private func respondLater(_ request: HTTPRequest, _ responder: HTTPResponder, _ write: OneEventWrite) {
        responder.respondLater { try await self.write(request, tenant: write.tenant, write.later) }
    }

    func sendwithusUpsert(_ request: HTTPRequest, _ context: RequestContext) throws -> OneEventWrite {
        let tenant = try context.requireTenant()
        let body = try request.decodeRequiredBody()
        let upsert = try validated { () throws(IngestValidationError) in try CustomerCommands.sendwithusUpsert(body) }
        return upsertWrite(upsert, source: "sendwithus", tenant: tenant, request)
    }

    func customerIOUpsert(_ request: HTTPRequest, _ context: RequestContext) throws -> OneEventWrite {
        let tenant = try context.requireTenant()
        let id = CustomerIdentity.normalize(try context.parameters.require("id"))
        let body = try request.decodeBody()
        let upsert = try validated { () throws(IngestValidationError) in try CustomerCommands.customerIOUpsert(id: id, body: body) }
        return upsertWrite(upsert, source: "customerio", tenant: tenant, request)
    }

    private func upsertWrite(_ upsert: CustomerUpsert, source: String, tenant: String, _ request: HTTPRequest) -> OneEventWrite {
        let writer = self.writer
        return OneEventWrite(tenant: tenant) {
            try writer.upsertNow(upsert, source: source, tenant: tenant, eventID: Self.newEventID(), request: request)
        } later: {
            try await writer.upsert(upsert, source: source, tenant: tenant, eventID: $0.eventID(0), request: request)
        }
    }

    func track(_ request: HTTPRequest, _ context: RequestContext) throws -> OneEventWrite {
        let tenant = try context.requireTenant()
        let id = CustomerIdentity.normalize(try context.parameters.require("id"))
        let body = try request.decodeBody()
        let event = try validated { () throws(IngestValidationError) in try CustomerCommands.trackedEvent(customerID: id, body: body) }
        let writer = self.writer
        return OneEventWrite(tenant: tenant) {
            try writer.trackNow(event, tenant: tenant, eventID: Self.newEventID(), request: request)
        } later: {
            try await writer.track(event, tenant: tenant, eventID: $0.eventID(0), request: request)
        }
    }

    /// The event id of a write without an `Idempotency-Key` (as `RequestIdentity` makes it).
    static func newEventID() -> UUID { RandomUUID.makeTimeOrdered() }

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
                    customerID: id, tenant: tenant, eventID: { identity.eventID($0) }, request: request)
                else { throw HTTPError(.notFound, "customer not found") }
                do {
                    let result = try await app.store.append(erasure.appends)
                    try await writer.complete([erasure], tenant: tenant)
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
