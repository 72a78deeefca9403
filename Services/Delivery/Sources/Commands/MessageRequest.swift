import Domain
import Foundation
import JSON

/// A send that passed validation, ready to become a `message.requested` event (pure).
struct MessageRequest: Sendable {
    var identity: MessageIdentity
    var template: TemplateRecord
    var version: TemplateVersionRecord
    var brandID: String?
    var emailType: String?
    /// The recipient subject (keyed hash of the lowercased address).
    var recipientSubject: String
    /// The personal part, sealed under the recipient subject's key.
    var personal: JSON

    /// The event data with `sealed` (the sealed personal part) in place.
    func eventData(sealed: String, at: Int64) -> JSON {
        var o: JSONObject = [
            "message_id": .string(identity.messageID), "log_id": .string(identity.logID),
            "status": .string(LogStatus.requested.rawValue), "occurred_at": .int64(at),
            "message": .string(LogStatus.requested.defaultMessage(provider: .platform)),
            "template_id": .string(template.id), "template_name": .string(template.name),
            "template_version": .string(version.name), "template_version_id": .string(version.id),
            "locale": .string(version.locale),
        ]
        if let brandID { o["brand_id"] = .string(brandID) }
        if let emailType { o["email_type"] = .string(emailType) }
        o["recipient_subject"] = .string(recipientSubject)
        o["sealed"] = .string(sealed)
        return .object(o)
    }

    /// The sendwithus `email` member of a response.
    var emailSummary: JSON {
        ["name": .string(template.name), "version_name": .string(version.name), "locale": .string(version.locale)]
    }
}
