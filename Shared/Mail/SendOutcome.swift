/// What happened to one message handed to a `MailTransport`.
public enum SendOutcome: Sendable, Hashable, CustomStringConvertible {
    /// The server took responsibility for the message; `providerReply` is its reply to the end
    /// of DATA (for example `250 2.0.0 Ok: queued as ABC123`), which often carries its id.
    case accepted(providerReply: String)
    /// Delivery may succeed later: a 4xx reply, a refused or reset connection, a timeout,
    /// a TLS failure. The reason holds the server's reply text when there was one.
    case temporary(reason: String)
    /// Delivery will not succeed as is: a 5xx reply (with the server's text) or a message that
    /// cannot be rendered.
    case permanent(reason: String)

    /// Whether the message was accepted.
    public var isAccepted: Bool {
        if case .accepted = self { return true }
        return false
    }

    public var description: String {
        switch self {
        case .accepted(let reply): "accepted: \(reply)"
        case .temporary(let reason): "temporary failure: \(reason)"
        case .permanent(let reason): "permanent failure: \(reason)"
        }
    }
}
