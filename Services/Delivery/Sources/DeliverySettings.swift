import Domain
import Foundation
import Mail
import Service

/// What delivery reads from its environment beyond `ServiceConfiguration`.
struct DeliverySettings: Sendable {
    /// `MAIL_TRANSPORT`: `smtp://…`, `smtps://…` or `file:///folder` (relative `file://./x` allowed).
    var transport: MailTransportConfiguration
    /// `MAIL_FROM_DOMAIN`: the right side of Message-IDs and of the default sender.
    var fromDomain: String
    /// `MAIL_DEFAULT_FROM`: the sender when neither the request nor a brand names one.
    var defaultFrom: Mailbox
    /// `MAIL_MAX_ATTEMPTS` and `MAIL_RETRY_BASE_SECONDS`.
    var retry: RetryPolicy
    /// `MAIL_CONCURRENCY`: sends in flight at once.
    var concurrency: Int
    /// `MAIL_PROVIDER`: whose name the log shows for sends (`platform` by default).
    var provider: MailProvider

    init(_ env: EnvironmentReader) throws {
        var transportText = env.read("MAIL_TRANSPORT", default: "file://./.data/outbox")
        if transportText.hasPrefix("file://"), !transportText.dropFirst(7).hasPrefix("/") {
            let relative = transportText.dropFirst(7)
            transportText = "file://" + FileManager.default.currentDirectoryPath + "/" + relative
        }
        do {
            transport = try MailTransportConfiguration.parse(transportText)
        } catch {
            throw ConfigurationError("MAIL_TRANSPORT: \(error.description)")
        }
        fromDomain = env.read("MAIL_FROM_DOMAIN", default: "localhost")
        guard !fromDomain.isEmpty, fromDomain.utf8.count <= 253,
            fromDomain.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "-") })
        else { throw ConfigurationError("MAIL_FROM_DOMAIN must be a host name") }
        guard let from = Mailbox(parsing: env.read("MAIL_DEFAULT_FROM", default: "noreply@\(fromDomain)"), strict: false) else {
            throw ConfigurationError("MAIL_DEFAULT_FROM must be an address or Name <address>")
        }
        defaultFrom = from
        let attempts = try env.read("MAIL_MAX_ATTEMPTS", default: 8, in: 1...100)
        guard let base = Double(env.read("MAIL_RETRY_BASE_SECONDS", default: "30")), base > 0, base <= 86_400 else {
            throw ConfigurationError("MAIL_RETRY_BASE_SECONDS must be a number of seconds above 0")
        }
        retry = RetryPolicy(maxAttempts: attempts, baseDelay: base)
        concurrency = try env.read("MAIL_CONCURRENCY", default: 8, in: 1...256)
        guard let provider = MailProvider(rawValue: env.read("MAIL_PROVIDER", default: "platform")) else {
            throw ConfigurationError("MAIL_PROVIDER must be one of sendgrid, ses, postmark, mailgun, platform")
        }
        self.provider = provider
    }
}
