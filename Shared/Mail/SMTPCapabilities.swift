/// The extensions a server announced in its EHLO reply (RFC 5321 §4.1.1.1).
public struct SMTPCapabilities: Sendable, Hashable {
    /// `STARTTLS` (RFC 3207).
    public var startTLS = false
    /// Upper-cased `AUTH` mechanisms, for example `["PLAIN", "LOGIN"]` (RFC 4954).
    public var authMechanisms: Set<String> = []
    /// `SIZE` (RFC 1870): the announced limit in bytes, 0 when announced without a limit.
    public var maxSize: Int?
    /// `8BITMIME` (RFC 6152).
    public var eightBitMIME = false
    /// `PIPELINING` (RFC 2920).
    public var pipelining = false
    /// `SMTPUTF8` (RFC 6531).
    public var smtpUTF8 = false
    /// `ENHANCEDSTATUSCODES` (RFC 2034).
    public var enhancedStatusCodes = false

    /// No extensions (a server that only answered HELO).
    public init() {}

    /// The capabilities in an EHLO reply: every line after the first is `KEYWORD [params]`.
    public init(ehloReply: SMTPReply) {
        for line in ehloReply.lines.dropFirst() {
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map { $0.uppercased() }
            guard let keyword = words.first else { continue }
            switch keyword {
            case "STARTTLS": startTLS = true
            case "AUTH": authMechanisms.formUnion(words.dropFirst())
            case "SIZE": maxSize = words.count > 1 ? Int(words[1]) ?? 0 : 0
            case "8BITMIME": eightBitMIME = true
            case "PIPELINING": pipelining = true
            case "SMTPUTF8": smtpUTF8 = true
            case "ENHANCEDSTATUSCODES": enhancedStatusCodes = true
            default:
                // Old servers announce "AUTH=LOGIN PLAIN".
                if keyword.hasPrefix("AUTH=") {
                    authMechanisms.insert(String(keyword.dropFirst(5)))
                    authMechanisms.formUnion(words.dropFirst())
                }
            }
        }
    }
}
