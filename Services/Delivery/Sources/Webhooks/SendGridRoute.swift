import HTTP
import Webhooks

extension WebhookRoutes {
    /// `POST /webhooks/sendgrid/:site`: a signed batch of events, stored in one append.
    func sendGrid(_ request: HTTPRequest, _ context: RequestContext) async throws -> HTTPResponse {
        let (tenant, settings) = try self.tenant(context)
        guard let key = settings.sendGridPublicKey else { throw Self.notConfigured }
        guard let signature = request.headers[SendGridWebhook.signatureHeader],
            let timestamp = request.headers[SendGridWebhook.timestampHeader]
        else { throw HTTPError(.unauthorized, "the webhook signature headers are missing") }
        guard SendGridWebhook.verify(publicKey: key, signatureBase64: signature, timestamp: timestamp, rawBody: request.body)
        else { throw Self.badSignature }
        let batch: ProviderEventBatch
        do {
            batch = try SendGridWebhook.parseBatch(rawBody: request.body)
        } catch {
            throw Self.malformed(error)
        }
        return try await store(batch.events, tenant: tenant, request: request)
    }
}
