import Foundation

/// One email to send: the header fields, the bodies and the envelope recipients.
///
/// `bcc` recipients are envelope-only: they get `RCPT TO` but never appear in the headers.
public struct MailMessage: Sendable, Hashable {
    /// The author (`From`).
    public var from: MailAddress
    /// Where replies go (`Reply-To`), if not to `from`.
    public var replyTo: MailAddress?
    /// Primary recipients (`To`).
    public var to: [MailAddress]
    /// Carbon-copy recipients (`Cc`).
    public var cc: [MailAddress]
    /// Blind recipients: in the SMTP envelope only, never in the headers.
    public var bcc: [MailAddress]
    /// The subject; any Unicode (RFC 2047 encoded when needed).
    public var subject: String
    /// The plain text body, if any.
    public var textBody: String?
    /// The HTML body, if any.
    public var htmlBody: String?
    /// Extra header fields in order (for example `X-SMTPAPI`, `List-Unsubscribe`).
    public var extraHeaders: [MailHeader]
    /// The `Message-ID` including angle brackets, for example `<log_abc@mail.example.com>`.
    public var messageID: String
    /// The `Date` header value.
    public var date: Date
    /// The `MAIL FROM` address (the bounce address); `from.address` when nil.
    public var envelopeSender: String?

    /// Creates a message. `messageID` must look like `<left@right>`.
    public init(
        from: MailAddress, replyTo: MailAddress? = nil, to: [MailAddress], cc: [MailAddress] = [],
        bcc: [MailAddress] = [], subject: String, textBody: String? = nil, htmlBody: String? = nil,
        extraHeaders: [MailHeader] = [], messageID: String, date: Date = Date(), envelopeSender: String? = nil
    ) {
        self.from = from
        self.replyTo = replyTo
        self.to = to
        self.cc = cc
        self.bcc = bcc
        self.subject = subject
        self.textBody = textBody
        self.htmlBody = htmlBody
        self.extraHeaders = extraHeaders
        self.messageID = messageID
        self.date = date
        self.envelopeSender = envelopeSender
    }

    /// A message id of the form `<log_<logID>@<host>>`.
    public static func messageID(logID: String, host: String) -> String {
        "<log_\(logID)@\(host)>"
    }

    /// Every `RCPT TO` address: to, cc and bcc, first occurrence kept, in that order.
    public var envelopeRecipients: [String] {
        var seen = Set<String>()
        return (to + cc + bcc).map(\.address).filter { seen.insert($0.lowercased()).inserted }
    }

    /// The `MAIL FROM` address.
    public var envelopeFrom: String { envelopeSender ?? from.address }
}
