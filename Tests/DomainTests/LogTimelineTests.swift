import Domain
import JSON
import Testing

@Suite struct LogStatusTests {
    @Test func hasExactlyTheSeventeenWireValues() {
        let expected: Set<String> = [
            "requested", "triggered", "queued", "sent", "clicked", "re_clicked", "opened", "re_opened",
            "failed_to_queue", "failed_to_send", "processed", "dropped", "delivered", "deferred", "bounced",
            "reported_as_spam", "unsubscribed",
        ]
        #expect(LogStatus.allCases.count == 17)
        #expect(Set(LogStatus.allCases.map(\.rawValue)) == expected)
        #expect(LogStatus(rawValue: "re_opened") == .reOpened)
    }

    @Test func defaultMessagesFollowTheSeed() {
        #expect(LogStatus.requested.defaultMessage(provider: .platform) == "requested")
        #expect(LogStatus.queued.defaultMessage(provider: .platform) == "email queued")
        #expect(LogStatus.failedToSend.defaultMessage(provider: .sendGrid) == "email failed to send, will retry")
        #expect(LogStatus.sent.defaultMessage(provider: .sendGrid) == "email sent through SendGrid")
        #expect(LogStatus.sent.defaultMessage(provider: .ses) == "email sent through SES")
        #expect(LogStatus.opened.defaultMessage(provider: .sendGrid) == "SendGrid: Message has been opened")
        #expect(LogStatus.clicked.defaultMessage(provider: .mailgun) == "Mailgun: Link in email has been clicked")
        #expect(LogStatus.delivered.defaultMessage(provider: .postmark) == "Postmark: Message has been delivered")
        #expect(LogStatus.delivered.defaultMessage(provider: .platform) == "Message has been delivered")
        for status in LogStatus.allCases {
            for provider in MailProvider.allCases { #expect(!status.defaultMessage(provider: provider).isEmpty) }
        }
    }
}

@Suite struct LogTimelineTests {
    static func event(
        _ status: LogStatus, _ seconds: Int64, _ provider: MailProvider = .sendGrid, details: DeliveryDetails = .none
    ) -> MessageLogEvent {
        MessageLogEvent(status: status, occurredAtMilliseconds: seconds * 1000, provider: provider, details: details)
    }

    @Test func inOrderTimelineMatchesTheSeedExample() {
        let timeline = LogTimeline(events: [
            Self.event(.requested, 1_234_567_890, .platform),
            Self.event(.queued, 1_234_567_891, .platform),
            Self.event(.failedToSend, 1_234_567_892),
            Self.event(.sent, 1_234_567_893),
            Self.event(.opened, 1_234_567_894),
            Self.event(.clicked, 1_234_567_895),
        ])
        #expect(timeline.entries.map(\.displayedStatus) == [.requested, .queued, .failedToSend, .sent, .opened, .clicked])
        #expect(
            timeline.entries.map(\.message) == [
                "requested", "email queued", "email failed to send, will retry", "email sent through SendGrid",
                "SendGrid: Message has been opened", "SendGrid: Link in email has been clicked",
            ])
        #expect(timeline.currentStatus == .clicked)
        #expect(timeline.eventsJSON.arrayValue?.first == ["object": "event", "created": 1_234_567_890, "type": "requested", "message": "requested"])
    }

    @Test func outOfOrderDeliveredBeforeSent() {
        let timeline = LogTimeline(events: [
            Self.event(.requested, 100, .platform),
            Self.event(.delivered, 105),
            Self.event(.sent, 101),
        ])
        #expect(timeline.entries.map(\.displayedStatus) == [.requested, .sent, .delivered])
        #expect(timeline.entries.map(\.arrivalIndex) == [0, 2, 1])
        #expect(timeline.currentStatus == .delivered)
        #expect(timeline.currentMessage == "SendGrid: Message has been delivered")
        #expect(timeline.state == .delivered)
        #expect(timeline.sentAt == 101)
        #expect(timeline.deliveredDate == 105)
        #expect(timeline.lastUpdated == 105)
    }

    @Test func currentStatusIsByOccurrenceTimeNotArrival() {
        let timeline = LogTimeline(events: [Self.event(.opened, 200), Self.event(.sent, 100)])
        #expect(timeline.currentStatus == .opened)
        #expect(timeline.lastUpdated == 200)
    }

    @Test func tiesKeepArrivalOrder() {
        let timeline = LogTimeline(events: [Self.event(.sent, 100), Self.event(.processed, 100), Self.event(.queued, 100)])
        #expect(timeline.entries.map(\.displayedStatus) == [.sent, .processed, .queued])
        #expect(timeline.currentStatus == .queued)
    }

    @Test func repeatedOpensAndClicksAreReOpenedAndReClicked() {
        let timeline = LogTimeline(events: [
            Self.event(.sent, 10),
            Self.event(.opened, 30),
            Self.event(.clicked, 31),
            Self.event(.opened, 20),  // arrives late, happened first
            Self.event(.opened, 40),
            Self.event(.clicked, 41),
            Self.event(.clicked, 50),
        ])
        #expect(
            timeline.entries.map(\.displayedStatus) == [
                .sent, .opened, .reOpened, .clicked, .reOpened, .reClicked, .reClicked,
            ])
        #expect(timeline.entries[2].message == "SendGrid: Message has been opened again")
        #expect(timeline.currentStatus == .reClicked)
        #expect(timeline.currentMessage == "SendGrid: Link in email has been clicked again")
    }

    @Test func recordedReOpenedThatIsFirstByTimeShowsAsOpened() {
        let timeline = LogTimeline(events: [Self.event(.reOpened, 5), Self.event(.opened, 9)])
        #expect(timeline.entries.map(\.displayedStatus) == [.opened, .reOpened])
    }

    @Test func recordedMessageWins() {
        let e = MessageLogEvent(status: .opened, occurredAtMilliseconds: 1000, provider: .sendGrid, message: "SendGrid: Email has been opened")
        #expect(LogTimeline(events: [e]).currentMessage == "SendGrid: Email has been opened")
    }

    @Test func millisecondsOrderWithinASecond() {
        let a = MessageLogEvent(status: .sent, occurredAtMilliseconds: 1_000_900)
        let b = MessageLogEvent(status: .delivered, occurredAtMilliseconds: 1_000_100)
        let timeline = LogTimeline(events: [a, b])
        #expect(timeline.currentStatus == .sent)
        #expect(timeline.entries.map(\.createdSeconds) == [1000, 1000])
        #expect(MessageLogEvent(status: .sent, occurredAtMilliseconds: -1).occurredAtSeconds == -1)
    }

    @Test func stateSent() {
        let t = LogTimeline(events: [Self.event(.requested, 1, .platform), Self.event(.sent, 2), Self.event(.processed, 3)])
        #expect(t.state == .sent)
        #expect(t.deliveredDate == nil)
        #expect(t.emailHistoryFields["State"] == "sent")
        #expect(t.emailHistoryFields["DeliveredDate"] == 0)
    }

    @Test func noStateBeforeSending() {
        let t = LogTimeline(events: [Self.event(.requested, 1, .platform), Self.event(.queued, 2, .platform)])
        #expect(t.state == nil)
        #expect(t.sentAt == nil)
        #expect(LogTimeline(events: []).currentStatus == nil)
    }

    @Test func stateDelivered() {
        let t = LogTimeline(events: [Self.event(.sent, 2), Self.event(.delivered, 4), Self.event(.opened, 9)])
        #expect(t.state == .delivered)
        #expect(t.deliveredDate == 4)
        let fields = t.emailHistoryFields
        #expect(fields["SentAt"] == 2)
        #expect(fields["LastUpdated"] == 9)
        #expect(fields["DeliveredDate"] == 4)
        #expect(fields["BounceType"] == "")
    }

    @Test func openWithoutDeliveredNoticeCountsAsDelivered() {
        let t = LogTimeline(events: [Self.event(.sent, 2), Self.event(.opened, 7)])
        #expect(t.state == .delivered)
        #expect(t.deliveredDate == 7)
    }

    @Test func stateBouncedWithDetailsEvenAfterDelivered() {
        let bounce = DeliveryDetails(bounceType: "Permanent", bounceSubType: "General", bounceDetails: "550 5.1.1 user unknown")
        let t = LogTimeline(events: [
            Self.event(.sent, 1, .ses), Self.event(.delivered, 2, .ses), Self.event(.bounced, 3, .ses, details: bounce),
        ])
        #expect(t.state == .bounced)
        #expect(t.bounceType == "Permanent")
        #expect(t.bounceSubType == "General")
        #expect(t.bounceDetails == "550 5.1.1 user unknown")
        #expect(t.currentMessage == "SES: Message has bounced")
        let fields = t.emailHistoryFields
        #expect(fields["State"] == "bounced")
        #expect(fields["BounceType"] == "Permanent")
        #expect(fields["BounceSubType"] == "General")
        #expect(fields["BounceDetails"] == "550 5.1.1 user unknown")
        #expect(fields.keys == ["SentAt", "LastUpdated", "State", "ComplaintType", "BounceType", "BounceSubType", "BounceDetails", "DeliveredDate"])
    }

    @Test func droppedCountsAsBounced() {
        #expect(LogTimeline(events: [Self.event(.sent, 1), Self.event(.dropped, 2)]).state == .bounced)
    }

    @Test func stateComplaintBeatsEverything() {
        let t = LogTimeline(events: [
            Self.event(.reportedAsSpam, 9, .ses, details: DeliveryDetails(complaintType: "abuse")),
            Self.event(.sent, 1, .ses),
            Self.event(.bounced, 5, .ses, details: DeliveryDetails(bounceType: "Transient")),
            Self.event(.delivered, 3, .ses),
        ])
        #expect(t.state == .complaint)
        #expect(t.complaintType == "abuse")
        #expect(t.bounceType == "Transient")
        #expect(t.emailHistoryFields["ComplaintType"] == "abuse")
        #expect(t.currentStatus == .reportedAsSpam)
    }

    @Test func precedenceOrder() {
        #expect(EmailState.complaint.precedence > EmailState.bounced.precedence)
        #expect(EmailState.bounced.precedence > EmailState.delivered.precedence)
        #expect(EmailState.delivered.precedence > EmailState.sent.precedence)
    }
}
