import Foundation
import TestSupport
import Testing

@testable import Mail

#if canImport(Glibc)
    import Glibc
#endif

/// End-to-end tests against a real SMTP server (aiosmtpd) on loopback.
@Suite struct SMTPTransportTests {
    func configuration(
        _ fixture: SMTPFixture, host: String = "127.0.0.1", startTLS: STARTTLSPolicy = .never, implicitTLS: Bool = false,
        credentials: SMTPCredentials? = nil, tls: TLSConfiguration = TLSConfiguration(), sessions: Int = 1
    ) -> SMTPConfiguration {
        SMTPConfiguration(
            host: host, port: fixture.port, implicitTLS: implicitTLS, startTLS: startTLS, credentials: credentials, tls: tls,
            heloName: "client.test", connectTimeout: 2, commandTimeout: 5, sessions: sessions)
    }

    func message(_ number: Int = 1, subject: String = "Welcome aboard") -> MailMessage {
        MailMessage(
            from: MailAddress("noreply@sender.test", name: "Sender Team"), replyTo: MailAddress("support@sender.test"),
            to: [MailAddress("ann@rcpt.test", name: "Ann")], cc: [MailAddress("cc@rcpt.test")],
            bcc: [MailAddress("hidden@rcpt.test")], subject: subject,
            textBody: "Hello Ann,\n.line starting with a dot\nmessage \(number)\n",
            htmlBody: "<p>Hello <b>Ann</b></p>\n<p>message \(number)</p>",
            extraHeaders: [MailHeader("X-Mailgun-Variables", #"{"log_id": "log_\#(number)"}"#)],
            messageID: "<log_\(number)@mail.sender.test>", date: Date(timeIntervalSince1970: 1_700_000_000))
    }

    func lf(_ text: String?) -> String? { text?.replacingOccurrences(of: "\r\n", with: "\n") }

    @Test func plainSendIsParsedBackByPythonEmail() async throws {
        let fixture = try SMTPFixture()
        let transport = try SMTPTransport(configuration: configuration(fixture))
        var original = message(subject: "Grüße, Zoë — ご注文ありがとうございます and a long tail of ASCII words to fold")
        original.from.name = "Zoë Müller, Équipe"
        original.htmlBody = "<p>Grüße</p>" + String(repeating: "<span>long line</span>", count: 20)
        let outcome = await transport.send(original)
        await transport.close()
        #expect(outcome == .accepted(providerReply: "250 2.0.0 Ok: queued as FIX0001"))

        let received = try #require(try fixture.received().first)
        #expect(received.mail_from == "noreply@sender.test")
        #expect(received.rcpt_tos == ["ann@rcpt.test", "cc@rcpt.test", "hidden@rcpt.test"])
        #expect(!received.has_bcc_header)
        #expect(!received.raw.contains("hidden@rcpt.test"))
        #expect(received.subject == original.subject)
        #expect(received.from == [.init(name: "Zoë Müller, Équipe", address: "noreply@sender.test")])
        #expect(received.reply_to == [.init(name: "", address: "support@sender.test")])
        #expect(received.to == [.init(name: "Ann", address: "ann@rcpt.test")])
        #expect(received.cc == [.init(name: "", address: "cc@rcpt.test")])
        #expect(received.message_id == "<log_1@mail.sender.test>")
        #expect(received.date == "Tue, 14 Nov 2023 22:13:20 +0000")
        #expect(received.content_type == "multipart/alternative")
        #expect(lf(received.text) == original.textBody)
        #expect(lf(received.html) == original.htmlBody)
        #expect(received.headers["X-Mailgun-Variables"] == #"{"log_id": "log_1"}"#)
        #expect(received.defects.isEmpty)
        #expect(received.max_line_length <= 78)
        #expect(!received.tls)
    }

    @Test func startTLSVerifiedAgainstTheThrowawayCertificate() async throws {
        let directory = try TemporaryDirectory()
        let certificate = try ThrowawayCertificate(in: directory)
        let fixture = try SMTPFixture(startTLS: certificate)
        for host in ["127.0.0.1", "localhost"] {
            let transport = try SMTPTransport(
                configuration: configuration(
                    fixture, host: host, startTLS: .required, tls: TLSConfiguration(verification: .caFile(certificate.certificatePath))))
            let outcome = await transport.send(message())
            await transport.close()
            #expect(outcome.isAccepted, "\(host): \(outcome)")
        }
        let received = try fixture.received()
        #expect(received.count == 2)
        #expect(received.allSatisfy { $0.tls })
    }

    @Test func untrustedCertificateIsATemporaryFailure() async throws {
        let directory = try TemporaryDirectory()
        let fixture = try SMTPFixture(startTLS: try ThrowawayCertificate(in: directory))
        let transport = try SMTPTransport(configuration: configuration(fixture, startTLS: .required))
        let outcome = await transport.send(message())
        guard case .temporary(let reason) = outcome else {
            Issue.record("expected a temporary failure, got \(outcome)")
            return
        }
        #expect(reason.contains("certificate verification failed"))
        #expect(try fixture.received().isEmpty)

        let unverified = try SMTPTransport(
            configuration: configuration(fixture, startTLS: .required, tls: TLSConfiguration(verification: .none)))
        #expect(await unverified.send(message()).isAccepted)
        await unverified.close()
    }

    @Test func requiredSTARTTLSMissingFails() async throws {
        let fixture = try SMTPFixture()
        let transport = try SMTPTransport(configuration: configuration(fixture, startTLS: .required))
        #expect(await transport.send(message()) == .temporary(reason: "STARTTLS required but not offered by the server"))
        #expect(try fixture.received().isEmpty)
    }

    @Test func pipeliningSessionCarriesSeveralMessages() async throws {
        let fixture = try SMTPFixture(pipelining: true)
        let transport = try SMTPTransport(configuration: configuration(fixture))
        var outcomes: [SendOutcome] = []
        for number in 1...3 { outcomes.append(await transport.send(message(number))) }
        await transport.close()
        #expect(outcomes == (1...3).map { .accepted(providerReply: "250 2.0.0 Ok: queued as FIX000\($0)") })
        let received = try fixture.received()
        #expect(received.map(\.message_id) == (1...3).map { "<log_\($0)@mail.sender.test>" })
        #expect(received.allSatisfy { $0.rcpt_tos == ["ann@rcpt.test", "cc@rcpt.test", "hidden@rcpt.test"] })
        #expect(Set(received.map(\.peer_port)).count == 1)  // one session
    }

    @Test func pipeliningRefusalsFailOnlyTheirMessage() async throws {
        // A refused recipient among accepted ones: nothing is delivered to anybody.
        let fixture = try SMTPFixture(mode: .rejectUnknown, pipelining: true)
        let transport = try SMTPTransport(configuration: configuration(fixture))
        var partly = message(1)
        partly.cc = [MailAddress("unknown@rcpt.test")]
        let refused = await transport.send(partly)
        #expect(refused == .permanent(reason: "550 5.1.1 <unknown@rcpt.test>: Recipient address rejected: User unknown"))
        #expect(await transport.send(message(2)).isAccepted)
        await transport.close()
        #expect(try fixture.received().map(\.message_id) == ["<log_2@mail.sender.test>"])

        // A refused sender: a temporary failure, and the same session carries the next message.
        let senderFixture = try SMTPFixture(mode: .rejectFirstSender, pipelining: true)
        let other = try SMTPTransport(configuration: configuration(senderFixture))
        #expect(await other.send(message(3)) == .temporary(reason: "451 4.7.1 Sender temporarily refused"))
        #expect(await other.send(message(4)).isAccepted)
        await other.close()
        #expect(try senderFixture.received().map(\.message_id) == ["<log_4@mail.sender.test>"])
    }

    @Test func implicitTLS() async throws {
        let directory = try TemporaryDirectory()
        let certificate = try ThrowawayCertificate(in: directory)
        let fixture = try SMTPFixture(implicitTLS: certificate)
        let url = "smtps://localhost:\(fixture.port)?ca=\(certificate.certificatePath)&timeout=5"
        let transport = try MailTransportConfiguration.parse(url).makeTransport()
        let outcome = await transport.send(message())
        await transport.close()
        #expect(outcome.isAccepted, "\(outcome)")
        #expect(try fixture.received().first?.tls == true)
    }

    @Test func authPlainOrLogin() async throws {
        let fixture = try SMTPFixture(auth: ("mailer", "s3cret"))
        let good = try SMTPTransport(
            configuration: configuration(fixture, credentials: SMTPCredentials(username: "mailer", password: "s3cret")))
        #expect(await good.send(message()).isAccepted)
        await good.close()
        #expect(try fixture.received().first?.authenticated == true)

        let bad = try SMTPTransport(
            configuration: configuration(fixture, credentials: SMTPCredentials(username: "mailer", password: "wrong")))
        let outcome = await bad.send(message(2))
        guard case .permanent(let reason) = outcome else {
            Issue.record("expected a permanent failure, got \(outcome)")
            return
        }
        #expect(reason.hasPrefix("535"))
        #expect(!reason.contains("wrong"))

        let anonymous = try SMTPTransport(configuration: configuration(fixture))
        guard case .permanent(let anonymousReason) = await anonymous.send(message(3)) else {
            Issue.record("expected a permanent failure without credentials")
            return
        }
        #expect(anonymousReason.hasPrefix("530"))
        #expect(try fixture.received().count == 1)
    }

    @Test func temporaryFailureThenSuccessOnRetry() async throws {
        let fixture = try SMTPFixture(mode: .failFirst)
        let transport = try SMTPTransport(configuration: configuration(fixture))
        let first = await transport.send(message())
        #expect(first == .temporary(reason: "451 4.3.0 Temporary local problem, try again"))
        let retry = await transport.send(message())
        #expect(retry == .accepted(providerReply: "250 2.0.0 Ok: queued as FIX0001"))
        await transport.close()
        #expect(try fixture.received().count == 1)
    }

    @Test func permanentFailureCarriesTheServerText() async throws {
        let fixture = try SMTPFixture(mode: .reject)
        let transport = try SMTPTransport(configuration: configuration(fixture))
        for number in 1...2 {  // the session survives the RSET and fails the same way again
            let outcome = await transport.send(message(number))
            #expect(outcome == .permanent(reason: "550 5.1.1 <ann@rcpt.test>: Recipient address rejected: User unknown"))
        }
        await transport.close()
    }

    @Test func serverDownIsTemporary() async throws {
        let port = try freeLoopbackPort()
        let transport = try SMTPTransport(
            configuration: SMTPConfiguration(host: "127.0.0.1", port: port, startTLS: .never, connectTimeout: 2, commandTimeout: 2))
        let outcome = await transport.send(message())
        guard case .temporary(let reason) = outcome else {
            Issue.record("expected a temporary failure, got \(outcome)")
            return
        }
        #expect(reason.contains("refused"))
    }

    @Test func silentServerTimesOutAsTemporary() async throws {
        // TCP connects, but no greeting ever comes.
        let server = try SilentServer()
        defer { server.stop() }
        let port = server.port
        let transport = try SMTPTransport(
            configuration: SMTPConfiguration(host: "127.0.0.1", port: port, startTLS: .never, connectTimeout: 2, commandTimeout: 0.3))
        let started = Date()
        let outcome = await transport.send(message())
        #expect(outcome == .temporary(reason: "timed out waiting for the server"))
        // The 0.3 s command timeout applied, not a default of minutes (bound loose for loaded CI machines).
        #expect(Date().timeIntervalSince(started) < 10)
    }

    @Test func aServerSilentAfterDataTimesOutAsTemporary() async throws {
        // The reply to the message's end comes after 1 s; the command timeout is 0.3 s.
        let fixture = try SMTPFixture(mode: .slow)
        var slow = configuration(fixture)
        slow.commandTimeout = 0.3
        let transport = try SMTPTransport(configuration: slow)
        let started = Date()
        let outcome = await transport.send(message())
        #expect(outcome == .temporary(reason: "timed out waiting for the server"))
        #expect(Date().timeIntervalSince(started) < 10)
        await transport.close()
    }

    @Test func aMessageLargerThanTheSocketBuffersArrivesWhole() async throws {
        // 8 MB of HTML: the transport writes as the server reads, with other sessions idle.
        let fixture = try SMTPFixture()
        let transport = try SMTPTransport(configuration: configuration(fixture, sessions: 2))
        var large = message(1)
        let paragraph = "<p>" + String(repeating: "0123456789abcdef", count: 4) + "</p>\n"
        large.htmlBody = String(repeating: paragraph, count: 8_000_000 / paragraph.utf8.count)
        async let big = transport.send(large)
        async let small = transport.send(message(2))
        let outcomes = await [big, small]
        await transport.close()
        #expect(outcomes.allSatisfy { $0.isAccepted }, "\(outcomes)")
        let received = try fixture.received()
        #expect(received.count == 2)
        let html = try #require(received.first { $0.message_id == "<log_1@mail.sender.test>" }?.html)
        #expect(lf(html) == large.htmlBody)
    }

    @Test func aLargeMessageAndOthersOverOneSTARTTLSSession() async throws {
        // Through TLS the message is encrypted record by record and written as the socket takes
        // it; the replies are decrypted as they come. Three messages, one session, one connection.
        let directory = try TemporaryDirectory()
        let certificate = try ThrowawayCertificate(in: directory)
        let fixture = try SMTPFixture(startTLS: certificate)
        let transport = try SMTPTransport(
            configuration: configuration(
                fixture, startTLS: .required, tls: TLSConfiguration(verification: .caFile(certificate.certificatePath))))
        var large = message(2)
        let paragraph = "<p>" + String(repeating: "fedcba9876543210", count: 4) + "</p>\n"
        large.htmlBody = String(repeating: paragraph, count: 6_000_000 / paragraph.utf8.count)
        var outcomes: [SendOutcome] = []
        for m in [message(1), large, message(3)] { outcomes.append(await transport.send(m)) }
        await transport.close()
        #expect(outcomes.allSatisfy { $0.isAccepted }, "\(outcomes)")
        let received = try fixture.received()
        #expect(received.count == 3)
        #expect(received.allSatisfy { $0.tls })
        #expect(Set(received.map(\.peer_port)).count == 1)
        #expect(lf(received.first { $0.message_id == "<log_2@mail.sender.test>" }?.html) == large.htmlBody)
    }

    @Test func headerInjectionIsRefusedBeforeSending() async throws {
        let fixture = try SMTPFixture()
        let transport = try SMTPTransport(configuration: configuration(fixture))
        var evil = message()
        evil.extraHeaders = [MailHeader("X-Campaign", "spring\r\nBcc: victim@evil.test")]
        #expect(await transport.send(evil) == .permanent(reason: "line break (CR or LF) in header X-Campaign refused"))
        evil = message()
        evil.subject = "Hi\nBcc: victim@evil.test"
        guard case .permanent = await transport.send(evil) else {
            Issue.record("expected a permanent failure")
            return
        }
        await transport.close()
        #expect(try fixture.received().isEmpty)
    }

    @Test func manyMessagesOverOneSession() async throws {
        let fixture = try SMTPFixture()
        let transport = try SMTPTransport(configuration: configuration(fixture))
        for number in 1...20 {
            let outcome = await transport.send(message(number))
            #expect(outcome == .accepted(providerReply: "250 2.0.0 Ok: queued as FIX\(String(format: "%04d", number))"))
        }
        await transport.close()
        let received = try fixture.received()
        #expect(received.count == 20)
        #expect(Set(received.map(\.peer_port)).count == 1)
        #expect(Set(received.map(\.message_id)).count == 20)
    }

    @Test func concurrentSendsShareAPoolOfSessions() async throws {
        let fixture = try SMTPFixture()
        let transport = try SMTPTransport(configuration: configuration(fixture, sessions: 3))
        let outcomes = await withTaskGroup(of: SendOutcome.self) { group in
            for number in 1...12 { group.addTask { await transport.send(message(number)) } }
            return await group.reduce(into: [SendOutcome]()) { $0.append($1) }
        }
        await transport.close()
        #expect(outcomes.count == 12 && outcomes.allSatisfy { $0.isAccepted })
        let received = try fixture.received()
        #expect(received.count == 12)
        #expect((1...3).contains(Set(received.map(\.peer_port)).count))
    }

    @Test func reconnectsWhenTheServerWentAway() async throws {
        let first = try SMTPFixture()
        let port = first.port
        let transport = try SMTPTransport(configuration: configuration(first))
        #expect(await transport.send(message(1)).isAccepted)
        first.stop()
        let second = try SMTPFixture(port: port)
        let outcome = await transport.send(message(2))
        await transport.close()
        #expect(outcome.isAccepted, "\(outcome)")
        #expect(try second.received().map(\.message_id) == ["<log_2@mail.sender.test>"])
    }
}

@Suite struct FileTransportTests {
    @Test func writesOneEmlPerMessage() async throws {
        let directory = try TemporaryDirectory()
        let transport = try MailTransportConfiguration.parse("file://\(directory.path)/out").makeTransport()
        let message = MailMessage(
            from: MailAddress("a@sender.test"), to: [MailAddress("b@rcpt.test")], bcc: [MailAddress("hidden@rcpt.test")],
            subject: "Saved", textBody: "Body", messageID: "<log_9/x@host.test>")
        let outcome = await transport.send(message)
        #expect(outcome == .accepted(providerReply: "written log_9_x@host.test.eml"))
        let saved = try String(contentsOfFile: directory.path + "/out/log_9_x@host.test.eml", encoding: .utf8)
        #expect(saved.contains("Subject: Saved\r\n"))
        #expect(saved.contains("Message-ID: <log_9/x@host.test>\r\n"))
        #expect(!saved.contains("hidden@rcpt.test"))
    }
}
