import Domain
import Foundation
import JSON
import Mail

/// Builds the email of a message from its request (pure): renders subject and bodies with the
/// customer's profile under the request's data, picks sender and reply-to (request, then brand,
/// then the default), and adds the custom-argument headers providers echo in their webhooks.
struct MessageComposer: Sendable {
    var fromDomain: String
    var defaultFrom: Mailbox

    /// The `Message-ID` of a log: `<log_…@MAIL_FROM_DOMAIN>`.
    func messageIDHeader(_ message: MessageIdentity) -> String { "<\(message.logID)@\(fromDomain)>" }

    /// The email for `personal` (the opened `sealed` part of `message.requested`).
    func compose(
        message: MessageIdentity, personal: JSON, version: TemplateVersionRecord, brand: JSONObject?,
        customerAttributes: JSONObject
    ) -> MailMessage {
        let data = RenderData.merge(customer: customerAttributes, request: personal["email_data"])
        func render(_ source: String, html: Bool) -> String {
            // Saved templates parsed when saved; a failure here means a corrupted row: render nothing.
            (try? Template.parse(source))?.render(data, escapeHTML: html) ?? ""
        }
        var subject = render(version.subject, html: false)
        if subject.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A }) {
            subject = subject.replacingOccurrences(of: "\r", with: " ").replacingOccurrences(of: "\n", with: " ")
        }
        let html = render(version.html, html: true)
        let text = version.text.map { render($0, html: false) }

        let sender = Mailbox(json: personal["sender"])
        let brandFrom = Mailbox(json: brand?["from"])
        let from = sender ?? brandFrom ?? defaultFrom
        var replyTo: Mailbox?
        if let r = personal["sender"]?["reply_to"]?.stringValue { replyTo = Mailbox(address: r, name: nil) }
        if replyTo == nil { replyTo = Mailbox(json: brand?["reply_to"]) }

        func boxes(_ value: JSON?) -> [MailAddress] {
            (value?.arrayValue ?? []).compactMap { Mailbox(json: $0) }.map { MailAddress($0.address, name: $0.name) }
        }
        let recipient = Mailbox(json: personal["recipient"])
        var headers: [MailHeader] = []
        let customArgs = JSON.object(["log_id": .string(message.logID)])
        headers.append(MailHeader("X-SMTPAPI", JSON.object(["unique_args": customArgs]).text))
        headers.append(MailHeader("X-Mailgun-Variables", customArgs.text))
        if let unsubscribe = brand?["list_unsubscribe"]?.stringValue {
            headers.append(MailHeader("List-Unsubscribe", unsubscribe))
        }
        for (name, value) in personal["headers"]?.objectValue ?? [:] {
            guard let v = value.stringValue, MailHeaderCheck(name: name, value: v).isAcceptable,
                !headers.contains(where: { $0.name.lowercased() == name.lowercased() })
            else { continue }
            headers.append(MailHeader(name, v))
        }
        return MailMessage(
            from: MailAddress(from.address, name: from.name),
            replyTo: replyTo.map { MailAddress($0.address, name: $0.name) },
            to: recipient.map { [MailAddress($0.address, name: $0.name)] } ?? [],
            cc: boxes(personal["cc"]), bcc: boxes(personal["bcc"]), subject: subject, textBody: text, htmlBody: html,
            extraHeaders: headers, messageID: messageIDHeader(message))
    }
}
