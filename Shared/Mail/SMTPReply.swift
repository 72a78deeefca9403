/// A complete SMTP reply (RFC 5321 §4.2): a three-digit code and one or more text lines.
public struct SMTPReply: Sendable, Hashable, CustomStringConvertible {
    /// The reply code, for example 250.
    public var code: Int
    /// The text of each line, without the code and separator.
    public var lines: [String]

    /// Creates a reply.
    public init(code: Int, lines: [String]) {
        self.code = code
        self.lines = lines
    }

    /// The class of a reply code.
    public enum Kind: Sendable, Hashable {
        /// 2xx: the command succeeded.
        case success
        /// 3xx: go on (after DATA, AUTH challenges).
        case intermediate
        /// 4xx: failed now, may succeed later.
        case temporaryFailure
        /// 5xx: failed, will fail again.
        case permanentFailure
    }

    /// The class of `code`.
    public var kind: Kind {
        switch code / 100 {
        case 2: .success
        case 3: .intermediate
        case 4: .temporaryFailure
        default: .permanentFailure
        }
    }

    /// The reply as the server sent it, lines joined with newlines: `250 2.0.0 Ok: queued as X`.
    public var description: String {
        lines.map { $0.isEmpty ? "\(code)" : "\(code) \($0)" }.joined(separator: "\n")
    }

    /// The reply as a failure outcome: 4xx (and anything odd below 500) temporary, 5xx permanent.
    public var failureOutcome: SendOutcome {
        code >= 500 ? .permanent(reason: description) : .temporary(reason: description)
    }
}

/// Why bytes from the server are not a valid SMTP reply.
public enum SMTPReplyError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A line does not start with a three-digit code and a space or hyphen.
    case malformedLine
    /// The lines of a multi-line reply carry different codes.
    case inconsistentCodes
    /// A line or a multi-line reply is longer than the parser accepts.
    case tooLong

    public var description: String {
        switch self {
        case .malformedLine: "malformed SMTP reply line"
        case .inconsistentCodes: "SMTP multi-line reply with different codes"
        case .tooLong: "SMTP reply too long"
        }
    }
}

/// Incremental parser of SMTP replies: feed bytes as they arrive, take complete replies.
/// Accepts CRLF or bare LF line ends; `250-first` lines continue, `250 last` ends a reply.
public struct SMTPReplyParser: Sendable {
    private var buffer: [UInt8] = []
    private var pendingCode: Int?
    private var pendingLines: [String] = []
    /// Longest accepted line (RFC 5321 allows 512; servers send longer EHLO lines).
    public static let maxLineLength = 4096
    /// Most lines accepted in one reply.
    public static let maxLines = 200

    /// Creates an empty parser.
    public init() {}

    /// Appends received bytes.
    public mutating func append(_ bytes: some Sequence<UInt8>) {
        buffer.append(contentsOf: bytes)
    }

    /// The next complete reply, or nil if more bytes are needed.
    public mutating func next() throws(SMTPReplyError) -> SMTPReply? {
        while let newline = buffer.firstIndex(of: 0x0A) {
            var line = Array(buffer[..<newline])
            buffer.removeSubrange(...newline)
            if line.last == 0x0D { line.removeLast() }
            guard line.count <= Self.maxLineLength else { throw .tooLong }
            guard line.count >= 3, line[0..<3].allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                line.count == 3 || line[3] == UInt8(ascii: " ") || line[3] == UInt8(ascii: "-")
            else { throw .malformedLine }
            let code = Int(line[0] - 0x30) * 100 + Int(line[1] - 0x30) * 10 + Int(line[2] - 0x30)
            if let pendingCode, pendingCode != code { throw .inconsistentCodes }
            let text = line.count > 4 ? String(decoding: line[4...], as: UTF8.self) : ""
            pendingLines.append(text)
            guard pendingLines.count <= Self.maxLines else { throw .tooLong }
            if line.count > 3, line[3] == UInt8(ascii: "-") {
                pendingCode = code
                continue
            }
            let reply = SMTPReply(code: code, lines: pendingLines)
            pendingCode = nil
            pendingLines = []
            return reply
        }
        guard buffer.count <= Self.maxLineLength else { throw .tooLong }
        return nil
    }

    /// Whether bytes of an incomplete reply are buffered.
    public var hasPartialReply: Bool { !buffer.isEmpty || !pendingLines.isEmpty }
}
