import JSON

/// The pure view of one message's events, whatever order they arrived in.
///
/// Give it the events in **arrival order** (the event table's order). It sorts them by
/// `occurredAtMilliseconds`, ties kept in arrival order, then derives what the logs API and the
/// `/v1/Email/` history show. Nothing here reads a clock.
public struct LogTimeline: Sendable, Equatable {
    /// One event in its place on the timeline.
    public struct Entry: Sendable, Hashable {
        /// The event as recorded.
        public var event: MessageLogEvent
        /// Its position in the input (arrival order), 0-based.
        public var arrivalIndex: Int
        /// The type shown: the first open is `opened`, every later one `re_opened`; the same
        /// for `clicked`/`re_clicked` (a recorded `re_opened` that turns out to be the first open
        /// by time is shown as `opened`). Every other status is shown as recorded.
        public var displayedStatus: LogStatus
        /// The recorded message, or the default for `displayedStatus` and the event's provider.
        public var message: String
        /// Unix seconds (floor), as the APIs' `created` fields show it.
        public var createdSeconds: Int64 { event.occurredAtSeconds }
    }

    /// The events ordered by occurrence time, ties by arrival.
    public let entries: [Entry]

    /// Builds the timeline from events in arrival order.
    public init(events: [MessageLogEvent]) {
        let ordered = events.enumerated().sorted { a, b in
            a.element.occurredAtMilliseconds != b.element.occurredAtMilliseconds
                ? a.element.occurredAtMilliseconds < b.element.occurredAtMilliseconds
                : a.offset < b.offset
        }
        var seenOpen = false
        var seenClick = false
        var entries: [Entry] = []
        entries.reserveCapacity(ordered.count)
        for (index, event) in ordered {
            var shown = event.status
            switch event.status {
            case .opened, .reOpened:
                shown = seenOpen ? .reOpened : .opened
                seenOpen = true
            case .clicked, .reClicked:
                shown = seenClick ? .reClicked : .clicked
                seenClick = true
            default: break
            }
            let message = event.message ?? shown.defaultMessage(provider: event.provider)
            entries.append(Entry(event: event, arrivalIndex: index, displayedStatus: shown, message: message))
        }
        self.entries = entries
    }

    /// The latest entry by occurrence time (the last arrival among equal times).
    public var latest: Entry? { entries.last }

    /// The log's current `status`: the displayed status of the latest event by occurrence time.
    public var currentStatus: LogStatus? { latest?.displayedStatus }

    /// The log's current `message` (e.g. "SendGrid: Message has been opened").
    public var currentMessage: String? { latest?.message }

    /// The `/v1/Email/` `State`: the highest-precedence state any event implies (see
    /// `EmailState`); nil while nothing implies the message was sent (only requested/queued/
    /// failures so far).
    public var state: EmailState? {
        var best: EmailState? = nil
        for entry in entries {
            guard let s = EmailState(impliedBy: entry.event.status) else { continue }
            if best == nil || s.precedence > best!.precedence { best = s }
        }
        return best
    }

    /// `SentAt`, unix seconds: the earliest `sent` event; when no `sent` was recorded (yet), the
    /// earliest event implying sending (any status with an `EmailState`). Nil when neither exists.
    public var sentAt: Int64? {
        if let sent = entries.first(where: { $0.event.status == .sent }) { return sent.createdSeconds }
        return entries.first(where: { EmailState(impliedBy: $0.event.status) != nil })?.createdSeconds
    }

    /// `LastUpdated`, unix seconds: the latest occurrence time of any event.
    public var lastUpdated: Int64? { latest?.createdSeconds }

    /// `DeliveredDate`, unix seconds: the earliest `delivered` event; without one, the earliest
    /// event proving delivery (open, click, unsubscribe). Nil when not delivered.
    public var deliveredDate: Int64? {
        if let d = entries.first(where: { $0.event.status == .delivered }) { return d.createdSeconds }
        return entries.first(where: { EmailState(impliedBy: $0.event.status) == .delivered })?.createdSeconds
    }

    /// The latest `bounced` event's details (nil when there is none).
    public var bounce: DeliveryDetails? { entries.last(where: { $0.event.status == .bounced })?.event.details }

    /// `BounceType` of the latest bounce.
    public var bounceType: String? { bounce?.bounceType }
    /// `BounceSubType` of the latest bounce.
    public var bounceSubType: String? { bounce?.bounceSubType }
    /// `BounceDetails` of the latest bounce.
    public var bounceDetails: String? { bounce?.bounceDetails }
    /// `ComplaintType` of the latest `reported_as_spam` event.
    public var complaintType: String? {
        entries.last(where: { $0.event.status == .reportedAsSpam })?.event.details.complaintType
    }

    /// The status fields of a `/v1/Email/` history item, in the seed's order, Go-style zero
    /// values for what is unknown (`""` for strings, `0` for times):
    /// `SentAt, LastUpdated, State, ComplaintType, BounceType, BounceSubType, BounceDetails,
    /// DeliveredDate`. `State` is `"sent"` when no event implies a state yet. The caller adds
    /// `Email`, `Type`, `MessageId`, `BrandId`, `OwnerId` and `MsgDetails`.
    public var emailHistoryFields: JSONObject {
        var o = JSONObject()
        o["SentAt"] = .int64(sentAt ?? 0)
        o["LastUpdated"] = .int64(lastUpdated ?? 0)
        o["State"] = .string((state ?? .sent).rawValue)
        o["ComplaintType"] = .string(complaintType ?? "")
        o["BounceType"] = .string(bounceType ?? "")
        o["BounceSubType"] = .string(bounceSubType ?? "")
        o["BounceDetails"] = .string(bounceDetails ?? "")
        o["DeliveredDate"] = .int64(deliveredDate ?? 0)
        return o
    }

    /// The `GET /logs/{id}/events` array: `{"object":"event","created":…,"type":…,"message":…}`
    /// per entry, in timeline order.
    public var eventsJSON: JSON {
        .array(
            entries.map { e in
                .object([
                    "object": "event", "created": .int64(e.createdSeconds),
                    "type": .string(e.displayedStatus.rawValue), "message": .string(e.message),
                ])
            })
    }
}
