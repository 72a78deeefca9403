import EventStore
import Foundation
import HTTP
import JSON
import Service
import Webhooks

/// The four provider endpoints. None uses API-key authentication: each checks its provider's
/// proof (signature or credentials) against the tenant's configuration, and answers 2xx only
/// once the events are durable.
struct WebhookRoutes: Sendable {
    let app: ServiceApp
    let configuration: WebhookConfiguration
    let recorder: WebhookRecorder
    let certificates: SNSCertificateStore
    let mailgunTokens: MailgunTokenLedger

    /// One route, `POST /webhooks/:provider/:site`, dispatched by provider (one row in the
    /// gateway's routing table); an unknown provider is 404.
    func register(_ router: inout Router) {
        router.post("/webhooks/:provider/:site", requiresAuth: false) { request, context in
            switch context.parameters["provider"] {
            case "sendgrid": return try await sendGrid(request, context)
            case "ses": return try await ses(request, context)
            case "postmark": return try await postmark(request, context)
            case "mailgun": return try await mailgun(request, context)
            default: throw HTTPError(.notFound, "unknown webhook provider")
            }
        }
    }

    /// The tenant's settings, or 401 when it has none.
    func tenant(_ context: RequestContext) throws(HTTPError) -> (String, WebhookConfiguration.Tenant) {
        let site = try context.parameters.require("site")
        guard let settings = configuration.tenants[site] else { throw Self.notConfigured }
        return (site, settings)
    }

    static let notConfigured = HTTPError(.unauthorized, "webhooks of this provider are not configured for this site")
    static let badSignature = HTTPError(.forbidden, "the webhook signature does not verify")

    /// 400 naming what is wrong with the body (never its content).
    static func malformed(_ error: WebhookError) -> HTTPError {
        HTTPError(.badRequest, "malformed webhook: \(error.description)")
    }

    /// Records `events`; storage failures become 503 so the provider retries.
    func store(_ events: [ProviderEvent], tenant: String, request: HTTPRequest) async throws -> HTTPResponse {
        let outcome: WebhookRecorder.Outcome
        do {
            outcome = try await recorder.record(events, tenant: tenant, requestID: request.requestID)
        } catch let error as HTTPError {
            throw error
        } catch AppendError.invalid {
            // More events than one transaction takes: retrying would never help.
            throw HTTPError(413, "too many events in one webhook request")
        } catch {
            app.logger.log(.warning, "webhook events not stored", ["error": .string("\(type(of: error))")])
            throw HTTPError.storageUnavailable
        }
        var response = HTTPResponse.json(outcome.json)
        if let checkpoint = outcome.checkpoint { response.headers.add("X-Consistency-Token", checkpoint.description) }
        return response
    }

    /// Appends events to one stream; an append that was already made is fine; storage failures
    /// become 503.
    func append(_ events: [NewEvent], tenant: String, stream: String) async throws {
        do {
            try await app.store.append(StreamAppend(tenant: tenant, stream: stream, events: events))
        } catch {
            app.logger.log(.warning, "webhook events not stored", ["error": .string("\(type(of: error))")])
            throw HTTPError.storageUnavailable
        }
    }
}
