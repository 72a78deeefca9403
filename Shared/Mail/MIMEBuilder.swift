import Crypto
import Foundation

/// Renders a `MailMessage` as RFC 5322 / MIME (RFC 2045–2047) bytes with CRLF line breaks.
///
/// - A single `text/plain` or `text/html` part, or `multipart/alternative` with both.
/// - UTF-8 bodies in quoted-printable (lines ≤ 76) or, when mostly non-ASCII, base64 (76).
/// - Non-ASCII subjects, display names and extra header values as RFC 2047 encoded words,
///   folded at 78 characters.
/// - `Bcc` is never written. Header values containing CR or LF are refused.
///
/// The output is 7-bit clean. Dot-stuffing is not applied here (that is the SMTP DATA phase).
public struct MIMEBuilder: Sendable {
    /// Makes the multipart boundary; the default is random. Tests inject a fixed one.
    public var boundary: @Sendable () -> String

    /// Creates a builder with random multipart boundaries.
    public init() {
        self.boundary = {
            // 128 bits from libcrypto's generator (no system call; the standard library's
            // generator made four `getrandom` calls a message).
            // "=_" can appear neither in quoted-printable nor in base64 output.
            "=_alt_" + SecureRandom.bytes(16).hexString
        }
    }

    /// Creates a builder with a fixed boundary maker.
    public init(boundary: @escaping @Sendable () -> String) {
        self.boundary = boundary
    }

    /// Content transfer encodings the builder chooses between.
    public enum TransferEncoding: String, Sendable {
        case quotedPrintable = "quoted-printable"
        case base64
    }

    /// The rendered message bytes (headers, blank line, body), CRLF line breaks throughout.
    public func render(_ message: MailMessage) throws(MailMessageError) -> [UInt8] {
        try validate(message)
        var head = ""
        head += "Date: \(RFC5322Date.format(message.date))\r\n"
        head += try HeaderFolding.fold(name: "From", tokens: mailboxTokens([message.from]))
        if let replyTo = message.replyTo {
            head += try HeaderFolding.fold(name: "Reply-To", tokens: mailboxTokens([replyTo]))
        }
        if !message.to.isEmpty {
            head += try HeaderFolding.fold(name: "To", tokens: mailboxTokens(message.to))
        }
        if !message.cc.isEmpty {
            head += try HeaderFolding.fold(name: "Cc", tokens: mailboxTokens(message.cc))
        }
        head += try Self.unstructured(name: "Subject", message.subject)
        head += "Message-ID: \(message.messageID)\r\n"
        head += "MIME-Version: 1.0\r\n"
        for header in message.extraHeaders {
            head += try Self.unstructured(name: header.name, header.value)
        }

        // Each body is encoded once (its encoding goes into the part's headers).
        let parts: [(subtype: String, body: (encoding: TransferEncoding, text: String))] =
            [("plain", message.textBody), ("html", message.htmlBody)].compactMap { subtype, body in
                body.map { (subtype, Self.encodedBody($0)) }
            }
        var out: [UInt8] = []
        out.reserveCapacity(head.utf8.count + parts.reduce(256) { $0 + $1.body.text.utf8.count + 128 })
        if parts.count == 1 || parts.isEmpty {
            let part = parts.first ?? ("plain", Self.encodedBody(""))
            head += Self.partHeaders(subtype: part.subtype, encoding: part.body.encoding)
            out += head.utf8
            out += [0x0D, 0x0A]
            out += part.body.text.utf8
            return out
        }
        let boundary = boundary()
        head += "Content-Type: multipart/alternative;\r\n boundary=\"\(boundary)\"\r\n\r\n"
        out += head.utf8
        for part in parts {
            out += "--\(boundary)\r\n".utf8
            out += Self.partHeaders(subtype: part.subtype, encoding: part.body.encoding).utf8
            out += [0x0D, 0x0A]
            out += part.body.text.utf8
            out += [0x0D, 0x0A]
        }
        out += "--\(boundary)--\r\n".utf8
        return out
    }

    /// An unstructured header field; a short printable ASCII one is written as it is (exactly
    /// what folding would give: nothing to fold), without splitting it into tokens.
    private static func unstructured(name: String, _ value: String) throws(MailMessageError) -> String {
        if name.utf8.count + 2 + value.utf8.count <= HeaderFolding.preferredLineLength, HeaderFolding.isPlainASCII(value) {
            return name + ": " + value + "\r\n"
        }
        return try HeaderFolding.fold(name: name, tokens: HeaderFolding.unstructuredTokens(value))
    }

    private static func partHeaders(subtype: String, encoding: TransferEncoding) -> String {
        "Content-Type: text/\(subtype); charset=UTF-8\r\nContent-Transfer-Encoding: \(encoding.rawValue)\r\n"
    }

    /// The body with CRLF line breaks, encoded as quoted-printable unless more than a third
    /// of its bytes are non-ASCII (then base64, which is shorter for such text).
    public static func encodedBody(_ text: String) -> (encoding: TransferEncoding, text: String) {
        let bytes = normalizedLineBreaks(Array(text.utf8))
        let nonASCII = bytes.count(where: { $0 >= 0x80 })
        if nonASCII * 3 > bytes.count {
            let encoded = Array(Data(bytes).base64EncodedString().utf8)
            let lines = stride(from: 0, to: encoded.count, by: 76).map {
                String(decoding: encoded[$0..<min($0 + 76, encoded.count)], as: UTF8.self)
            }
            return (.base64, lines.joined(separator: "\r\n"))
        }
        return (.quotedPrintable, QuotedPrintable.encode(bytes))
    }

    /// Bytes with every line break (CR, LF or CRLF) turned into CRLF.
    public static func normalizedLineBreaks(_ bytes: [UInt8]) -> [UInt8] {
        if hasOnlyCRLF(bytes) { return bytes }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + 16)
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == 0x0D {
                out.append(0x0D)
                out.append(0x0A)
                if index + 1 < bytes.count, bytes[index + 1] == 0x0A { index += 1 }
            } else if byte == 0x0A {
                out.append(0x0D)
                out.append(0x0A)
            } else {
                out.append(byte)
            }
            index += 1
        }
        return out
    }

    /// Whether every CR is followed by LF and every LF preceded by CR (nothing to normalise:
    /// the common case, for example a message this builder rendered).
    static func hasOnlyCRLF(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBufferPointer { buffer in
            var index = 0
            let count = buffer.count
            while index < count {
                let byte = buffer[index]
                if byte == 0x0D {
                    guard index + 1 < count, buffer[index + 1] == 0x0A else { return false }
                    index += 2
                    continue
                }
                if byte == 0x0A { return false }
                index += 1
            }
            return true
        }
    }

    private func mailboxTokens(_ mailboxes: [MailAddress]) -> [String] {
        var tokens: [String] = []
        for (index, mailbox) in mailboxes.enumerated() {
            var mine: [String] = []
            if let name = mailbox.name, !name.isEmpty {
                mine = HeaderFolding.phraseTokens(name) + ["<\(mailbox.address)>"]
            } else {
                mine = [mailbox.address]
            }
            if index < mailboxes.count - 1 { mine[mine.count - 1] += "," }
            tokens += mine
        }
        return tokens
    }

    /// Checks addresses, line breaks, header names and the message id.
    public func validate(_ message: MailMessage) throws(MailMessageError) {
        func check(_ mailboxes: [MailAddress], _ field: String) throws(MailMessageError) {
            for mailbox in mailboxes {
                guard mailbox.isValidAddress else { throw .invalidAddress(field: field) }
                if let name = mailbox.name, Self.hasLineBreak(name) { throw .lineBreakInHeader(field: field) }
            }
        }
        try check([message.from], "From")
        try check(message.replyTo.map { [$0] } ?? [], "Reply-To")
        try check(message.to, "To")
        try check(message.cc, "Cc")
        try check(message.bcc, "Bcc")
        if let sender = message.envelopeSender, !sender.isEmpty, !MailAddress(sender).isValidAddress {
            throw .invalidAddress(field: "envelope sender")
        }
        if message.to.isEmpty && message.cc.isEmpty && message.bcc.isEmpty { throw .noRecipients }
        if Self.hasLineBreak(message.subject) { throw .lineBreakInHeader(field: "Subject") }
        let id = Array(message.messageID.utf8)
        guard id.count >= 5, id.first == UInt8(ascii: "<"), id.last == UInt8(ascii: ">"),
            id.dropFirst().dropLast().contains(UInt8(ascii: "@")),
            id.dropFirst().dropLast().allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "<") && $0 != UInt8(ascii: ">") })
        else { throw .invalidMessageID }
        for header in message.extraHeaders {
            guard header.hasValidName else { throw .invalidHeaderName }
            if MailHeader.reservedNames.contains(header.name.lowercased()) { throw .reservedHeader(name: header.name) }
            if Self.hasLineBreak(header.value) { throw .lineBreakInHeader(field: header.name) }
        }
    }

    private static func hasLineBreak(_ text: String) -> Bool {
        text.utf8.contains(0x0D) || text.utf8.contains(0x0A)
    }
}
