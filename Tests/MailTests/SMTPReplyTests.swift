import Testing

@testable import Mail

@Suite struct SMTPReplyTests {
    @Test func parsesSingleAndMultiLineRepliesAcrossChunks() throws {
        var parser = SMTPReplyParser()
        parser.append(Array("220 mx.example.com ESMTP ready\r\n250-mx.example.com\r\n250-PIPE".utf8))
        #expect(try parser.next() == SMTPReply(code: 220, lines: ["mx.example.com ESMTP ready"]))
        #expect(try parser.next() == nil)
        #expect(parser.hasPartialReply)
        parser.append(Array("LINING\r\n250 SIZE 1000\n".utf8))
        let reply = try #require(try parser.next())
        #expect(reply.code == 250)
        #expect(reply.lines == ["mx.example.com", "PIPELINING", "SIZE 1000"])
        #expect(!parser.hasPartialReply)
    }

    @Test func rejectsMalformedReplies() {
        var parser = SMTPReplyParser()
        parser.append(Array("25 short\r\n".utf8))
        #expect(throws: SMTPReplyError.malformedLine) { try parser.next() }
        var mixed = SMTPReplyParser()
        mixed.append(Array("250-a\r\n251 b\r\n".utf8))
        #expect(throws: SMTPReplyError.inconsistentCodes) { try mixed.next() }
        var long = SMTPReplyParser()
        long.append([UInt8](repeating: UInt8(ascii: "2"), count: SMTPReplyParser.maxLineLength + 10))
        #expect(throws: SMTPReplyError.tooLong) { try long.next() }
    }

    @Test func classifiesReplies() {
        #expect(SMTPReply(code: 250, lines: ["ok"]).kind == .success)
        #expect(SMTPReply(code: 354, lines: ["go"]).kind == .intermediate)
        #expect(SMTPReply(code: 451, lines: ["later"]).kind == .temporaryFailure)
        #expect(SMTPReply(code: 550, lines: ["no"]).kind == .permanentFailure)
        #expect(SMTPReply(code: 451, lines: ["4.3.0 later"]).failureOutcome == .temporary(reason: "451 4.3.0 later"))
        #expect(SMTPReply(code: 550, lines: ["5.1.1 unknown", "see docs"]).failureOutcome == .permanent(reason: "550 5.1.1 unknown\n550 see docs"))
        #expect(SMTPReply(code: 250, lines: ["2.0.0 Ok: queued as ABC123"]).description == "250 2.0.0 Ok: queued as ABC123")
    }

    @Test func parsesEHLOCapabilities() {
        let reply = SMTPReply(
            code: 250,
            lines: ["mx.example.com Hello", "PIPELINING", "SIZE 35882577", "8BITMIME", "STARTTLS", "AUTH PLAIN LOGIN",
                    "ENHANCEDSTATUSCODES", "SMTPUTF8", "auth=cram-md5 xoauth2"])
        let capabilities = SMTPCapabilities(ehloReply: reply)
        #expect(capabilities.pipelining)
        #expect(capabilities.maxSize == 35_882_577)
        #expect(capabilities.eightBitMIME)
        #expect(capabilities.startTLS)
        #expect(capabilities.authMechanisms == ["PLAIN", "LOGIN", "CRAM-MD5", "XOAUTH2"])
        #expect(capabilities.enhancedStatusCodes)
        #expect(capabilities.smtpUTF8)
        let bare = SMTPCapabilities(ehloReply: SMTPReply(code: 250, lines: ["mx.example.com"]))
        #expect(!bare.startTLS && bare.authMechanisms.isEmpty && bare.maxSize == nil)
    }
}
