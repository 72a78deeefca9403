import Foundation
import Testing

@testable import Mail

@Suite struct MIMEBuilderTests {
    let builder = MIMEBuilder(boundary: { "=_alt_test" })

    func message(
        subject: String = "Hello", fromName: String? = "Ann", text: String? = "Hi", html: String? = "<p>Hi</p>",
        headers: [MailHeader] = []
    ) -> MailMessage {
        MailMessage(
            from: MailAddress("ann@example.com", name: fromName), replyTo: MailAddress("reply@example.com"),
            to: [MailAddress("bob@example.net", name: "Bob"), MailAddress("carl@example.net")],
            cc: [MailAddress("cc@example.net")], bcc: [MailAddress("secret@example.org")], subject: subject,
            textBody: text, htmlBody: html, extraHeaders: headers, messageID: "<log_1@mail.example.com>",
            date: Date(timeIntervalSince1970: 1_700_000_000))
    }

    func render(_ message: MailMessage) throws -> String {
        String(decoding: try builder.render(message), as: UTF8.self)
    }

    func lines(_ text: String) -> [Substring] {
        text.split(separator: "\r\n", omittingEmptySubsequences: false)
    }

    @Test func rendersHeadersAndMultipartAlternative() throws {
        let text = try render(message())
        #expect(text.hasPrefix("Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"))
        #expect(text.contains("From: Ann <ann@example.com>\r\n"))
        #expect(text.contains("Reply-To: reply@example.com\r\n"))
        #expect(text.contains("To: Bob <bob@example.net>, carl@example.net\r\n"))
        #expect(text.contains("Cc: cc@example.net\r\n"))
        #expect(text.contains("Subject: Hello\r\n"))
        #expect(text.contains("Message-ID: <log_1@mail.example.com>\r\n"))
        #expect(text.contains("MIME-Version: 1.0\r\n"))
        #expect(text.contains("Content-Type: multipart/alternative;\r\n boundary=\"=_alt_test\"\r\n"))
        #expect(text.contains("--=_alt_test\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nHi\r\n"))
        #expect(text.contains("--=_alt_test\r\nContent-Type: text/html; charset=UTF-8"))
        #expect(text.hasSuffix("--=_alt_test--\r\n"))
        #expect(!text.lowercased().contains("bcc"))
        #expect(!text.contains("secret@example.org"))
        // Only CRLF line breaks.
        #expect(!text.replacingOccurrences(of: "\r\n", with: "").contains("\n"))
    }

    @Test func singlePartWhenOnlyOneBody() throws {
        let textOnly = try render(message(html: nil))
        #expect(textOnly.contains("Content-Type: text/plain; charset=UTF-8\r\n"))
        #expect(!textOnly.contains("multipart"))
        let htmlOnly = try render(message(text: nil))
        #expect(htmlOnly.contains("Content-Type: text/html; charset=UTF-8\r\n"))
        #expect(!htmlOnly.contains("multipart"))
    }

    @Test func encodesNonASCIISubjectAndDisplayNameAsFoldedEncodedWords() throws {
        let subject = String(repeating: "Grüße aus Köln — 東京 ", count: 5)
        let text = try render(message(subject: subject, fromName: "Zoë Müller"))
        #expect(text.contains("From: =?UTF-8?B?Wm/DqyBNw7xsbGVy?= <ann@example.com>\r\n"))
        let header = text.components(separatedBy: "\r\n")
        let start = try #require(header.firstIndex { $0.hasPrefix("Subject: ") })
        var subjectLines = [header[start]]
        for line in header[(start + 1)...] {
            guard line.hasPrefix(" ") else { break }
            subjectLines.append(line)
        }
        #expect(subjectLines.count > 1)
        var decoded = ""
        for line in subjectLines {
            #expect(line.utf8.count <= 78)
            for word in line.split(separator: " ") where word.hasPrefix("=?") {
                #expect(word.count <= 75)
                #expect(word.hasPrefix("=?UTF-8?B?") && word.hasSuffix("?="))
                let payload = word.dropFirst(10).dropLast(2)
                let bytes = try #require(Data(base64Encoded: String(payload)))
                decoded += try #require(String(data: bytes, encoding: .utf8))
            }
        }
        #expect(decoded == subject)
    }

    @Test func quotesDisplayNamesWithSpecials() throws {
        let text = try render(message(fromName: "Doe, \"Jane\""))
        #expect(text.contains(#"From: "Doe, \"Jane\"" <ann@example.com>"#))
    }

    @Test func foldsLongASCIISubjectsAtSpaces() throws {
        let subject = (1...40).map { "word\($0)" }.joined(separator: " ")
        let text = try render(message(subject: subject))
        let header = text.components(separatedBy: "\r\n\r\n")[0]
        #expect(header.components(separatedBy: "\r\n").allSatisfy { $0.utf8.count <= 78 })
        let unfolded = header.replacingOccurrences(of: "\r\n ", with: " ")
        #expect(unfolded.contains("Subject: \(subject)\r\n"))
    }

    @Test func quotedPrintableKeepsLinesWithin76() {
        let long = String(repeating: "abcdefghij", count: 30) + " é=" + String(repeating: "x", count: 100) + " "
        let encoded = QuotedPrintable.encode(Array((long + "\r\nshort \r\n.dot").utf8))
        let lines = encoded.components(separatedBy: "\r\n")
        #expect(lines.allSatisfy { $0.utf8.count <= 76 })
        #expect(encoded.contains("=C3=A9=3D"))
        #expect(lines.contains("short=20"))  // trailing space before a break is encoded
        #expect(lines.last == ".dot")
        // Decoding (remove soft breaks, then =XX) gives the input back.
        #expect(decodeQP(encoded) == Array((long + "\r\nshort \r\n.dot").utf8))
    }

    func decodeQP(_ text: String) -> [UInt8] {
        let bytes = Array(text.replacingOccurrences(of: "=\r\n", with: "").utf8)
        var out: [UInt8] = []
        var index = 0
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "="), index + 2 < bytes.count,
                let value = UInt8(String(decoding: bytes[(index + 1)...(index + 2)], as: UTF8.self), radix: 16)
            {
                out.append(value)
                index += 3
            } else {
                out.append(bytes[index])
                index += 1
            }
        }
        return out
    }

    @Test func mostlyNonASCIIBodiesUseBase64() throws {
        let body = String(repeating: "東京都渋谷区", count: 30)
        let encoded = MIMEBuilder.encodedBody(body)
        #expect(encoded.encoding == .base64)
        let lines = encoded.text.components(separatedBy: "\r\n")
        #expect(lines.allSatisfy { $0.utf8.count <= 76 })
        let data = try #require(Data(base64Encoded: lines.joined()))
        #expect(String(data: data, encoding: .utf8) == body)
        #expect(MIMEBuilder.encodedBody("Plain text with one ü").encoding == .quotedPrintable)
    }

    @Test func lineBreaksAreNormalisedToCRLF() {
        #expect(MIMEBuilder.normalizedLineBreaks(Array("a\nb\rc\r\nd".utf8)) == Array("a\r\nb\r\nc\r\nd".utf8))
        // Already CRLF throughout: returned as it is. Any bare CR or LF, even last, is not.
        #expect(MIMEBuilder.hasOnlyCRLF(Array("a\r\n\r\nb\r\n".utf8)))
        for text in ["a\r\nb\n", "a\r", "\n", "a\rb\r\n", "\r\r\n"] {
            #expect(!MIMEBuilder.hasOnlyCRLF(Array(text.utf8)), "\(Array(text.utf8))")
        }
        #expect(MIMEBuilder.normalizedLineBreaks(Array("\r\r\n".utf8)) == Array("\r\n\r\n".utf8))
    }

    @Test func extraHeadersAreWrittenAndValidated() throws {
        let json = #"{"unique_args": {"log_id": "log_1"}, "category": ["welcome"]}"#
        let text = try render(
            message(headers: [
                MailHeader("X-SMTPAPI", json), MailHeader("List-Unsubscribe", "<https://example.com/u/1>"),
            ]))
        let header = text.components(separatedBy: "\r\n\r\n")[0].replacingOccurrences(of: "\r\n ", with: " ")
        #expect(header.contains("X-SMTPAPI: \(json)\r\n"))
        #expect(header.contains("List-Unsubscribe: <https://example.com/u/1>\r\n"))

        #expect(throws: MailMessageError.lineBreakInHeader(field: "X-Test")) {
            try builder.render(message(headers: [MailHeader("X-Test", "a\r\nBcc: victim@example.com")]))
        }
        #expect(throws: MailMessageError.lineBreakInHeader(field: "X-Test")) {
            try builder.render(message(headers: [MailHeader("X-Test", "a\nb")]))
        }
        #expect(throws: MailMessageError.lineBreakInHeader(field: "Subject")) {
            try builder.render(message(subject: "Hi\r\nBcc: victim@example.com"))
        }
        #expect(throws: MailMessageError.lineBreakInHeader(field: "From")) {
            try builder.render(message(fromName: "Ann\nX-Evil: 1"))
        }
        #expect(throws: MailMessageError.invalidHeaderName) {
            try builder.render(message(headers: [MailHeader("X Bad:", "v")]))
        }
        #expect(throws: MailMessageError.reservedHeader(name: "bcc")) {
            try builder.render(message(headers: [MailHeader("bcc", "v@example.com")]))
        }
    }

    @Test func refusesBadAddressesAndMessageIDs() {
        var bad = message()
        bad.to = [MailAddress("bob@example.net>\r\nRCPT TO:<x@y")]
        #expect(throws: MailMessageError.invalidAddress(field: "To")) { try builder.render(bad) }
        bad = message()
        bad.bcc = [MailAddress("no-at-sign")]
        #expect(throws: MailMessageError.invalidAddress(field: "Bcc")) { try builder.render(bad) }
        bad = message()
        bad.messageID = "log_1@host"
        #expect(throws: MailMessageError.invalidMessageID) { try builder.render(bad) }
        bad = message()
        (bad.to, bad.cc, bad.bcc) = ([], [], [])
        #expect(throws: MailMessageError.noRecipients) { try builder.render(bad) }
    }

    @Test func dotStuffingAndTermination() {
        let payload = DotStuffing.dataPayload(Array(".a\r\nb\n..c\r\nend".utf8))
        #expect(String(decoding: payload, as: UTF8.self) == "..a\r\nb\r\n...c\r\nend\r\n.\r\n")
        #expect(DotStuffing.dataPayload(Array("x\r\n".utf8)) == Array("x\r\n.\r\n".utf8))
        #expect(DotStuffing.dataPayload([]) == Array(".\r\n".utf8))
        #expect(DotStuffing.dataPayload(Array(".\r\n.".utf8)) == Array("..\r\n..\r\n.\r\n".utf8))
    }

    @Test func datesAreRFC5322() {
        #expect(RFC5322Date.format(Date(timeIntervalSince1970: 0)) == "Thu, 1 Jan 1970 00:00:00 +0000")
        #expect(RFC5322Date.format(Date(timeIntervalSince1970: 951_782_400)) == "Tue, 29 Feb 2000 00:00:00 +0000")
        #expect(RFC5322Date.format(Date(timeIntervalSince1970: 1_795_831_508)) == "Sat, 28 Nov 2026 02:05:08 +0000")
    }

    @Test func messageIDAndEnvelopeRecipients() {
        #expect(MailMessage.messageID(logID: "abc", host: "mail.example.com") == "<log_abc@mail.example.com>")
        var m = message()
        m.cc.append(MailAddress("BOB@example.net"))
        #expect(m.envelopeRecipients == ["bob@example.net", "carl@example.net", "cc@example.net", "secret@example.org"])
        #expect(m.envelopeFrom == "ann@example.com")
    }
}
