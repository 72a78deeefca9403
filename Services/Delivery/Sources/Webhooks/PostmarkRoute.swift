import HTTP
import Webhooks

extension WebhookRoutes {
    /// `POST /webhooks/postmark/:site`: one record, authenticated by the Basic credentials
    /// configured in the webhook URL.
    func postmark(_ request: HTTPRequest, _ context: RequestContext) async throws -> HTTPResponse {
        let (tenant, settings) = try self.tenant(context)
        guard let credentials = settings.postmarkCredentials else { throw Self.notConfigured }
        guard
            PostmarkWebhook.verify(
                authorizationHeader: request.headers["Authorization"], username: credentials.username,
                password: credentials.password)
        else {
            throw HTTPError(
                .unauthorized, "webhook credentials required", headers: ["WWW-Authenticate": "Basic realm=\"webhooks\""])
        }
        let batch: ProviderEventBatch
        do {
            batch = try PostmarkWebhook.parseBatch(rawBody: request.body)
        } catch {
            throw Self.malformed(error)
        }
        return try await store(batch.events, tenant: tenant, request: request)
    }
}
