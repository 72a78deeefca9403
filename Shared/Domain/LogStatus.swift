/// The 17 statuses of a sendwithus log (seed 002), as their wire strings.
public enum LogStatus: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// API request received.
    case requested
    /// Triggered by an internal event (a drip campaign).
    case triggered
    /// Queued for delivery.
    case queued
    /// Handed to the email service provider.
    case sent
    /// A link was clicked.
    case clicked
    /// A link was clicked more than once.
    case reClicked = "re_clicked"
    /// The email was opened.
    case opened
    /// The email was opened more than once.
    case reOpened = "re_opened"
    /// An internal error temporarily prevented delivery.
    case failedToQueue = "failed_to_queue"
    /// A provider error temporarily prevented delivery.
    case failedToSend = "failed_to_send"
    /// The provider acknowledged the delivery request.
    case processed
    /// The provider prevented delivery.
    case dropped
    /// Delivered to the recipient.
    case delivered
    /// The provider delayed delivery.
    case deferred
    /// The provider could not deliver to the recipient.
    case bounced
    /// The recipient reported the email as spam.
    case reportedAsSpam = "reported_as_spam"
    /// The recipient asked to be unsubscribed.
    case unsubscribed

    public var description: String { rawValue }

    /// Whether the status is recorded by the platform itself (the rest come from provider
    /// webhooks): requested, triggered, queued, sent, failed_to_queue, failed_to_send.
    public var isPlatformStatus: Bool {
        switch self {
        case .requested, .triggered, .queued, .sent, .failedToQueue, .failedToSend: return true
        default: return false
        }
    }

    /// The default log/event message for this status (seed 002 wording).
    ///
    /// Platform statuses read like `"email sent through SendGrid"` / `"email queued"`; provider
    /// statuses read like `"SendGrid: Message has been opened"`, without the prefix when the
    /// provider is `.platform`.
    public func defaultMessage(provider: MailProvider) -> String {
        switch self {
        case .requested: return "requested"
        case .triggered: return "email triggered"
        case .queued: return "email queued"
        case .failedToQueue: return "email failed to queue, will retry"
        case .failedToSend: return "email failed to send, will retry"
        case .sent: return provider == .platform ? "email sent" : "email sent through \(provider.displayName)"
        default: break
        }
        let text: String
        switch self {
        case .processed: text = "Message has been processed"
        case .dropped: text = "Message has been dropped"
        case .delivered: text = "Message has been delivered"
        case .deferred: text = "Message has been deferred"
        case .bounced: text = "Message has bounced"
        case .reportedAsSpam: text = "Message has been reported as spam"
        case .unsubscribed: text = "Recipient has unsubscribed"
        case .opened: text = "Message has been opened"
        case .reOpened: text = "Message has been opened again"
        case .clicked: text = "Link in email has been clicked"
        case .reClicked: text = "Link in email has been clicked again"
        default: text = rawValue
        }
        return provider == .platform ? text : "\(provider.displayName): \(text)"
    }
}

/// Who an event concerns: an email service provider, or the platform itself.
public enum MailProvider: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case sendGrid = "sendgrid"
    case ses
    case postmark
    case mailgun
    /// Our own platform (events before a provider is involved, or our own SMTP delivery).
    case platform

    /// The name shown in messages: "SendGrid", "SES", "Postmark", "Mailgun", "Platform".
    public var displayName: String {
        switch self {
        case .sendGrid: return "SendGrid"
        case .ses: return "SES"
        case .postmark: return "Postmark"
        case .mailgun: return "Mailgun"
        case .platform: return "Platform"
        }
    }

    public var description: String { rawValue }
}
