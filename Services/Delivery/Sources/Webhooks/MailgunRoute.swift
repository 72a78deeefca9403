import Foundation
import HTTP
import Webhooks

extension WebhookRoutes {
    /// `POST /webhooks/mailgun/:site`: one event, HMAC-signed, fresh (5 minutes) and never seen
    /// before (its token is remembered).
    func mailgun(_ request: HTTPRequest, _ context: RequestContext) async throws -> HTTPResponse {
        let (tenant, settings) = try self.tenant(context)
        guard let signingKey = settings.mailgunSigningKey else { throw Self.notConfigured }
        let payload: MailgunPayload
        do {
            payload = try MailgunWebhook.parse(rawBody: request.body)
        } catch {
            throw Self.malformed(error)
        }
        switch MailgunWebhook.verify(signingKey: signingKey, signature: payload.signature, now: Date()) {
        case .valid: break
        case .badSignature: throw Self.badSignature
        case .stale: throw HTTPError(.forbidden, "the webhook timestamp is too old")
        }
        let fresh: Bool
        do {
            fresh = try await mailgunTokens.claim(payload.signature.token, tenant: tenant)
        } catch {
            throw HTTPError.storageUnavailable
        }
        guard fresh else { throw HTTPError(.forbidden, "the webhook token was already used") }
        do {
            return try await store(payload.events, tenant: tenant, request: request)
        } catch {
            await mailgunTokens.release(payload.signature.token, tenant: tenant)
            throw error
        }
    }
}
