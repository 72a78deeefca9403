import EventStore
import Foundation
import HTTP
import JSON
import Crypto
import Webhooks

extension WebhookRoutes {
    /// `POST /webhooks/ses/:site`: an Amazon SNS envelope from a configured topic, signed with
    /// the certificate at its `SigningCertURL`. Notifications carry SES events; subscription
    /// messages are recorded and confirmed.
    func ses(_ request: HTTPRequest, _ context: RequestContext) async throws -> HTTPResponse {
        let (tenant, settings) = try self.tenant(context)
        guard let topics = settings.sesTopicARNs else { throw Self.notConfigured }
        let message: SNSMessage
        do {
            message = try SNSMessage.parse(rawBody: request.body)
        } catch {
            throw Self.malformed(error)
        }
        guard message.isFromTopic(in: topics) else { throw HTTPError(.forbidden, "the SNS topic is not configured") }
        let certificate: X509Certificate
        do {
            certificate = try await certificates.certificate(at: message.signingCertURL)
        } catch .notAllowed {
            throw HTTPError(.forbidden, "the SNS signing certificate URL is not allowed")
        } catch .invalid {
            throw HTTPError(.forbidden, "the SNS signing certificate could not be read")
        } catch {
            throw HTTPError(
                .serviceUnavailable, "the SNS signing certificate could not be fetched; retry later",
                headers: ["Retry-After": "5"])
        }
        guard message.verify(certificate: certificate, now: Date()) else { throw Self.badSignature }
        switch message.type {
        case .notification:
            let batch: ProviderEventBatch
            do {
                batch = try message.sesEvents()
            } catch {
                throw Self.malformed(error)
            }
            return try await store(batch.events, tenant: tenant, request: request)
        case .subscriptionConfirmation, .unsubscribeConfirmation:
            return try await subscription(message, tenant: tenant, request: request)
        }
    }

    /// Records a subscription message, then (for a confirmation) GETs its `SubscribeURL` and
    /// records the confirmation. 502 when the confirmation failed, so SNS may send it again.
    private func subscription(_ message: SNSMessage, tenant: String, request: HTTPRequest) async throws -> HTTPResponse {
        let data: JSON = [
            "sns_type": .string(message.type.rawValue), "topic_arn": .string(message.topicARN),
            "sns_message_id": .string(message.messageID), "occurred_at": .int64(message.timestampMilliseconds),
        ]
        let metadata: JSON = ["actor": "webhook:ses", "request_id": .string(request.requestID)]
        let stream = WebhookEvents.snsStream(tenant: tenant)
        let received = NewEvent(
            id: WebhookEvents.derivedID(WebhookEvents.snsSubscriptionReceived, key: message.messageID),
            type: WebhookEvents.snsSubscriptionReceived, data: data, metadata: metadata)
        try await append([received], tenant: tenant, stream: stream)
        guard message.type == .subscriptionConfirmation, let url = message.subscribeURL else {
            return .json(["success": true, "status": "OK"])
        }
        guard await certificates.confirmSubscription(url) else {
            throw HTTPError(502, "the SNS subscription could not be confirmed")
        }
        let confirmed = NewEvent(
            id: WebhookEvents.derivedID(WebhookEvents.snsSubscriptionConfirmed, key: message.messageID),
            type: WebhookEvents.snsSubscriptionConfirmed, data: data, metadata: metadata)
        try await append([confirmed], tenant: tenant, stream: stream)
        return .json(["success": true, "status": "OK", "confirmed": true])
    }
}
