import EventStore
import HTTP
import JSON
import Service

/// What every route of the service needs.
struct DeliveryContext: Sendable {
    let app: ServiceApp
    let readModel: DeliveryReadModel
    let settings: DeliverySettings
    /// Request events appended here, for the outbox worker (see `RecentRequests`).
    let recent: RecentRequests

    /// A JSON response carrying the consistency token of a write.
    func written(_ body: JSON, _ checkpoint: Checkpoint, status: HTTPStatus = .ok) -> HTTPResponse {
        var r = HTTPResponse.json(body, status: status)
        r.headers.add("X-Consistency-Token", checkpoint.description)
        return r
    }

    /// Appends and waits until delivery's own read model includes the append, so the caller's
    /// next request (a send with the new template, a brand naming it) sees it.
    func appendVisible(_ appends: [StreamAppend]) async throws -> AppendResult {
        let result = try await app.store.append(appends)
        try await app.waitForConsistency(result.checkpoint)
        return result
    }
}
