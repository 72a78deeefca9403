/// Something that takes messages for delivery.
public protocol MailTransport: Sendable {
    /// Sends one message and tells what happened. Never throws: every failure is an outcome,
    /// classified temporary (retry later) or permanent.
    func send(_ message: MailMessage) async -> SendOutcome
    /// Releases connections (QUIT for SMTP). Sending after `close()` opens them again.
    func close() async
}
