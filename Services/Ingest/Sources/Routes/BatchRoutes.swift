import Domain
import EventStore
import HTTP
import JSON
import Service

/// customer.io Track v2 for people: `POST /api/v2/batch` (up to 1,000 operations, all or
/// nothing) and `POST /api/v2/entity` (one operation).
struct BatchRoutes: Sendable {
    let app: ServiceApp
    let writer: CustomerWriter

    func register(_ router: inout Router) {
        router.post("/api/v2/batch") { request, context in
            let tenant = try context.requireTenant()
            let body = try request.decodeJSONBody()
            let parsed = try validated { () throws(IngestValidationError) in try BatchCommands.parseBatch(body) }
            guard parsed.errors.isEmpty else { return BatchError(errors: parsed.errors).response }
            do {
                return try await self.apply(parsed.operations, request: request, tenant: tenant)
            } catch let e as BatchError {
                return e.response
            }
        }
        router.post("/api/v2/entity") { request, context in
            let tenant = try context.requireTenant()
            let body = try request.decodeJSONBody()
            let op = try validated { () throws(IngestValidationError) in try BatchCommands.parseOperation(body) }
            return try await self.apply([op], request: request, tenant: tenant)
        }
    }

    func apply(_ ops: [BatchOperation], request: HTTPRequest, tenant: String) async throws -> HTTPResponse {
        try await app.idempotency.run(request, tenant: tenant) { identity in
            var erasures: [CustomerWriter.Erasure] = []
            let result = try await writer.append {
                // Inside the build: when an erasure destroyed a key meanwhile, the rebuild
                // fetches the live ones.
                let known = try await writer.prefetchKeys(
                    tenant: tenant,
                    customerIDs: ops.compactMap {
                        if case .delete = $0 { return nil }
                        return $0.customerID
                    })
                var units: [StreamAppend] = []
                erasures = []
                for (i, op) in ops.enumerated() {
                    switch op {
                    case .identify(let u):
                        units.append(
                            try await writer.upsert(
                                u, source: "customerio", tenant: tenant, eventID: identity.eventID(i), request: request,
                                known: known[u.id]))
                    case .event(let e):
                        units.append(
                            try await writer.track(
                                e, tenant: tenant, eventID: identity.eventID(i), request: request, known: known[e.customerID]))
                    case .delete(let id):
                        guard let erasure = try await writer.erasure(
                            customerID: id, tenant: tenant, eventID: { identity.eventID(i, salt: "delete\($0)") }, request: request)
                        else { throw BatchError(errors: [(i, "customer not found")]) }
                        units += erasure.appends
                        erasures.append(erasure)
                    }
                }
                return units
            }
            if !erasures.isEmpty { try await writer.complete(erasures, tenant: tenant) }
            return CustomerRoutes.written(result)
        }
    }
}

/// A batch refused because of some of its operations: 400 in the error shape, plus `errors`
/// listing each operation's index and problem. Nothing of the batch is appended.
struct BatchError: HTTPResponseError, Sendable {
    let errors: [(Int, String)]
    var httpStatus: HTTPStatus { .badRequest }
    var httpMessage: String {
        "invalid operations: " + errors.map { "batch[\($0.0)]: \($0.1)" }.joined(separator: "; ")
    }
    var response: HTTPResponse {
        .json(
            [
                "success": false, "status": "error", "error": .string(httpMessage),
                "errors": .array(errors.map { ["index": .int($0.0), "error": .string($0.1)] }),
            ], status: .badRequest)
    }
}
