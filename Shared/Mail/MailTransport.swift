/// Something that takes messages for delivery.
public protocol MailTransport: Sendable {
    /// Sends one message and tells what happened. Never throws: every failure is an outcome,
    /// classified temporary (retry later) or permanent.
    func send(_ message: MailMessage) async -> SendOutcome
    /// Sends one message and calls `completion` with the outcome, on a thread of the
    /// transport's choosing (keep it quick). For a caller with many messages at once: no task
    /// waits for each one. By default, a task that calls `send`.
    func submit(_ message: MailMessage, completion: @escaping @Sendable (SendOutcome) -> Void)
    /// Releases connections (QUIT for SMTP). Sending after `close()` opens them again.
    func close() async
}

extension MailTransport {
    public func submit(_ message: MailMessage, completion: @escaping @Sendable (SendOutcome) -> Void) {
        Task { completion(await send(message)) }
    }
}
