import Domain
import Foundation
import JSON
import Mail

/// What the worker records after a transport outcome (pure).
enum SendDecision: Sendable, Equatable {
    case sent(reply: String, providerMessageID: String?)
    case retry(reason: String, attempt: Int, nextRetryAtMilliseconds: Int64)
    case drop(reason: String)

    /// The same decision with email addresses taken out of the server's text
    /// (`AddressRedaction`), as it is recorded.
    var withoutAddresses: SendDecision {
        switch self {
        case .sent(let reply, let id): .sent(reply: AddressRedaction.redacting(reply), providerMessageID: id)
        case .retry(let reason, let attempt, let next):
            .retry(reason: AddressRedaction.redacting(reason), attempt: attempt, nextRetryAtMilliseconds: next)
        case .drop(let reason): .drop(reason: AddressRedaction.redacting(reason))
        }
    }

    /// The message event type it appends.
    var eventType: String {
        switch self {
        case .sent: EventCatalog.messageSent
        case .retry: EventCatalog.messageFailedToSend
        case .drop: EventCatalog.messageDropped
        }
    }
}

/// Exponential back-off with jitter and a bounded number of attempts.
struct RetryPolicy: Sendable {
    /// Attempts before a temporary failure becomes `dropped` (`MAIL_MAX_ATTEMPTS`).
    var maxAttempts: Int
    /// Delay after the first failure, in seconds (`MAIL_RETRY_BASE_SECONDS`).
    var baseDelay: Double
    /// Longest delay, in seconds.
    var maxDelay: Double = 3600

    /// The delay before attempt `attempt + 1`: base × 2^(attempt−1), capped, times a jitter
    /// factor in [0.5, 1) from `unit` (a number in [0, 1)).
    func delay(afterAttempt attempt: Int, unit: Double) -> Double {
        let exponential = baseDelay * pow(2, Double(max(0, attempt - 1)))
        return min(maxDelay, exponential) * (0.5 + 0.5 * unit)
    }

    /// The decision for `outcome` of attempt number `attempt` (1-based).
    func decide(_ outcome: SendOutcome, attempt: Int, nowMilliseconds: Int64, unit: Double) -> SendDecision {
        switch outcome {
        case .accepted(let reply):
            return .sent(reply: reply, providerMessageID: Self.providerMessageID(in: reply))
        case .permanent(let reason):
            return .drop(reason: reason)
        case .temporary(let reason):
            if attempt >= maxAttempts { return .drop(reason: "gave up after \(attempt) attempts: \(reason)") }
            let next = nowMilliseconds + Int64(delay(afterAttempt: attempt, unit: unit) * 1000)
            return .retry(reason: reason, attempt: attempt, nextRetryAtMilliseconds: next)
        }
    }

    /// The id in replies such as `250 2.0.0 Ok: queued as ABC123` or `250 Ok <id>`, if any.
    static func providerMessageID(in reply: String) -> String? {
        // A byte search (UTF-8 never matches an ASCII needle inside a multi-byte character):
        // Foundation's `range(of:)` was a visible share of the worker's CPU.
        let needle = Array("queued as ".utf8)
        let utf8 = reply.utf8
        var index = utf8.startIndex
        while index != utf8.endIndex {
            if utf8[index...].starts(with: needle) {
                let after = utf8.index(index, offsetBy: needle.count)
                let id = reply[after...].prefix { !$0.isWhitespace }
                return id.isEmpty ? nil : String(id)
            }
            index = utf8.index(after: index)
        }
        return nil
    }
}
