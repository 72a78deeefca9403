/// The `State` of a message in `/v1/Email/` history (seed 003).
///
/// Derived from all of a message's events with the precedence
/// `complaint` > `bounced` > `delivered` > `sent`: a complaint is the strongest signal about a
/// recipient and cannot happen without delivery; a bounce after a `delivered` (asynchronous
/// bounces exist) means the mail did not stay delivered.
public enum EmailState: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case sent
    case delivered
    case bounced
    case complaint

    public var description: String { rawValue }

    /// The state implied by one status alone, or nil when the status says nothing about sending
    /// (requested, triggered, queued, failed_to_queue, failed_to_send).
    ///
    /// - `reported_as_spam` → complaint
    /// - `bounced`, `dropped` → bounced (a drop is the provider refusing the address; the
    ///   message never reaches the recipient)
    /// - `delivered`, `opened`, `re_opened`, `clicked`, `re_clicked`, `unsubscribed` → delivered
    ///   (an open, click or unsubscribe proves delivery even when the provider's `delivered`
    ///   notice is missing or late)
    /// - `sent`, `processed`, `deferred` → sent
    public init?(impliedBy status: LogStatus) {
        switch status {
        case .reportedAsSpam: self = .complaint
        case .bounced, .dropped: self = .bounced
        case .delivered, .opened, .reOpened, .clicked, .reClicked, .unsubscribed: self = .delivered
        case .sent, .processed, .deferred: self = .sent
        case .requested, .triggered, .queued, .failedToQueue, .failedToSend: return nil
        }
    }

    /// Rank in the precedence (higher wins).
    public var precedence: Int {
        switch self {
        case .sent: return 0
        case .delivered: return 1
        case .bounced: return 2
        case .complaint: return 3
        }
    }
}
