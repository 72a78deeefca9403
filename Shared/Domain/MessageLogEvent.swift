/// Provider details carried by some events (all optional, free text from the provider).
public struct DeliveryDetails: Sendable, Hashable {
    /// Bounce type (e.g. SES `Permanent`), on `bounced` events.
    public var bounceType: String?
    /// Bounce subtype (e.g. SES `General`), on `bounced` events.
    public var bounceSubType: String?
    /// The provider's rawer bounce details (diagnostic text), on `bounced` events.
    public var bounceDetails: String?
    /// Complaint type (e.g. SES `abuse`), on `reported_as_spam` events.
    public var complaintType: String?
    /// The clicked link, on `clicked` events.
    public var url: String?

    public init(
        bounceType: String? = nil, bounceSubType: String? = nil, bounceDetails: String? = nil,
        complaintType: String? = nil, url: String? = nil
    ) {
        self.bounceType = bounceType
        self.bounceSubType = bounceSubType
        self.bounceDetails = bounceDetails
        self.complaintType = complaintType
        self.url = url
    }

    public static let none = DeliveryDetails()
}

/// One thing that happened to a message, as recorded (our own events, or provider webhooks).
///
/// Time is `occurredAtMilliseconds`: unix time in **milliseconds** (Int64), so webhook times
/// keep their sub-second order; APIs show unix seconds (`occurredAtSeconds`, floor division).
public struct MessageLogEvent: Sendable, Hashable {
    public var status: LogStatus
    /// When it happened (not when we learned of it), unix milliseconds.
    public var occurredAtMilliseconds: Int64
    /// The provider the event concerns (`.platform` when none is involved yet).
    public var provider: MailProvider
    /// The recorded message; nil means "use the default for the displayed status"
    /// (`LogStatus.defaultMessage(provider:)`).
    public var message: String?
    public var details: DeliveryDetails

    public init(
        status: LogStatus, occurredAtMilliseconds: Int64, provider: MailProvider = .platform,
        message: String? = nil, details: DeliveryDetails = .none
    ) {
        self.status = status
        self.occurredAtMilliseconds = occurredAtMilliseconds
        self.provider = provider
        self.message = message
        self.details = details
    }

    /// `occurredAtMilliseconds` as unix seconds (rounded down, also for times before 1970).
    public var occurredAtSeconds: Int64 { Self.seconds(occurredAtMilliseconds) }

    static func seconds(_ ms: Int64) -> Int64 {
        ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000)
    }
}
