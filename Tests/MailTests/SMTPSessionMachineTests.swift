import Foundation
import Testing

@testable import Mail

@Suite struct SMTPSessionMachineTests {
    func sent(_ action: SMTPSessionMachine.Action) -> String? {
        if case .send(let bytes) = action { return String(decoding: bytes, as: UTF8.self) }
        return nil
    }

    func reply(_ code: Int, _ lines: String...) -> SMTPReply { SMTPReply(code: code, lines: lines) }

    @Test func fullSessionWithSTARTTLSAuthAndTwoMessages() {
        var machine = SMTPSessionMachine(
            options: .init(heloName: "client.test", startTLS: .required, credentials: SMTPCredentials(username: "u", password: "p")))
        #expect(sent(machine.receive(reply(220, "hi"))) == "EHLO client.test\r\n")
        #expect(sent(machine.receive(reply(250, "hi", "STARTTLS", "AUTH LOGIN"))) == "STARTTLS\r\n")
        #expect(machine.receive(reply(220, "go ahead")) == .startTLS)
        #expect(sent(machine.tlsEstablished()) == "EHLO client.test\r\n")
        #expect(machine.isTLSActive)
        #expect(sent(machine.receive(reply(250, "hi", "AUTH LOGIN", "SIZE 1000"))) == "AUTH LOGIN\r\n")
        #expect(sent(machine.receive(reply(334, "VXNlcm5hbWU6"))) == "dQ==\r\n")
        #expect(sent(machine.receive(reply(334, "UGFzc3dvcmQ6"))) == "cA==\r\n")
        #expect(machine.receive(reply(235, "ok")) == .ready)

        for index in 1...2 {
            let first = machine.beginTransaction(from: "a@x.test", to: ["b@y.test", "c@y.test"], message: Array("Subject: x\r\n\r\n.hi".utf8))
            #expect(sent(first) == "MAIL FROM:<a@x.test> SIZE=23\r\n")
            #expect(sent(machine.receive(reply(250, "ok"))) == "RCPT TO:<b@y.test>\r\n")
            #expect(sent(machine.receive(reply(250, "ok"))) == "RCPT TO:<c@y.test>\r\n")
            #expect(sent(machine.receive(reply(250, "ok"))) == "DATA\r\n")
            #expect(sent(machine.receive(reply(354, "go"))) == "Subject: x\r\n\r\n..hi\r\n.\r\n")
            #expect(machine.receive(reply(250, "2.0.0 queued as Q\(index)")) == .messageFinished(.accepted(providerReply: "250 2.0.0 queued as Q\(index)")))
            #expect(machine.isReady)
        }
        #expect(sent(machine.quit()) == "QUIT\r\n")
        #expect(machine.receive(reply(221, "bye")) == .closed)
        #expect(machine.isClosed)
    }

    @Test func requiredSTARTTLSNotOfferedFails() {
        var machine = SMTPSessionMachine(options: .init(heloName: "c", startTLS: .required))
        _ = machine.receive(reply(220, "hi"))
        let action = machine.receive(reply(250, "hi", "AUTH PLAIN"))
        #expect(action == .failed(.temporary(reason: "STARTTLS required but not offered by the server"), nothingSent: false))
    }

    @Test func authPlainAndRejectedCredentials() {
        var machine = SMTPSessionMachine(options: .init(heloName: "c", startTLS: .never, credentials: SMTPCredentials(username: "u", password: "p")))
        _ = machine.receive(reply(220, "hi"))
        #expect(sent(machine.receive(reply(250, "hi", "AUTH PLAIN LOGIN"))) == "AUTH PLAIN AHUAcA==\r\n")
        #expect(machine.receive(reply(535, "5.7.8 bad credentials")) == .failed(.permanent(reason: "535 5.7.8 bad credentials"), nothingSent: false))
    }

    @Test func rejectedRecipientResetsAndKeepsTheSession() {
        var machine = SMTPSessionMachine(options: .init(heloName: "c", startTLS: .never))
        _ = machine.receive(reply(220, "hi"))
        #expect(machine.receive(reply(250, "hi")) == .ready)
        _ = machine.beginTransaction(from: "a@x.test", to: ["b@y.test"], message: [])
        _ = machine.receive(reply(250, "ok"))
        #expect(sent(machine.receive(reply(550, "5.1.1 unknown user"))) == "RSET\r\n")
        #expect(machine.receive(reply(250, "ok")) == .messageFinished(.permanent(reason: "550 5.1.1 unknown user")))
        #expect(machine.isReady)
    }

    /// A machine past EHLO with a server that offers PIPELINING.
    func pipeliningMachine() -> SMTPSessionMachine {
        var machine = SMTPSessionMachine(options: .init(heloName: "c", startTLS: .never))
        _ = machine.receive(reply(220, "hi"))
        #expect(machine.receive(reply(250, "hi", "PIPELINING", "SIZE 1000")) == .ready)
        return machine
    }

    @Test func pipelinedTransactionSendsOneGroupAndReadsEveryReply() {
        var machine = pipeliningMachine()
        for index in 1...2 {
            let first = machine.beginTransaction(from: "a@x.test", to: ["b@y.test", "c@y.test"], message: Array("hi".utf8))
            #expect(sent(first) == "MAIL FROM:<a@x.test> SIZE=7\r\nRCPT TO:<b@y.test>\r\nRCPT TO:<c@y.test>\r\nDATA\r\n")
            #expect(machine.receive(reply(250, "sender ok")) == .receive)
            #expect(machine.receive(reply(250, "rcpt ok")) == .receive)
            #expect(machine.receive(reply(250, "rcpt ok")) == .receive)
            #expect(sent(machine.receive(reply(354, "go"))) == "hi\r\n.\r\n")
            #expect(machine.receive(reply(250, "queued \(index)")) == .messageFinished(.accepted(providerReply: "250 queued \(index)")))
            #expect(machine.isReady)
        }
    }

    @Test func pipelinedRefusalsFailTheMessage() {
        // A refused recipient, DATA refused too (no valid recipients): RSET, the session stays.
        var machine = pipeliningMachine()
        _ = machine.beginTransaction(from: "a@x.test", to: ["b@y.test"], message: [])
        #expect(machine.receive(reply(250, "ok")) == .receive)
        #expect(machine.receive(reply(550, "5.1.1 unknown user")) == .receive)
        #expect(sent(machine.receive(reply(554, "5.5.1 no valid recipients"))) == "RSET\r\n")
        #expect(machine.receive(reply(250, "ok")) == .messageFinished(.permanent(reason: "550 5.1.1 unknown user")))
        #expect(machine.isReady)

        // A refused sender: the first refusal is the outcome, whatever follows.
        _ = machine.beginTransaction(from: "a@x.test", to: ["b@y.test"], message: [])
        #expect(machine.receive(reply(451, "4.7.1 try later")) == .receive)
        #expect(machine.receive(reply(503, "need MAIL")) == .receive)
        #expect(sent(machine.receive(reply(503, "need RCPT"))) == "RSET\r\n")
        #expect(machine.receive(reply(250, "ok")) == .messageFinished(.temporary(reason: "451 4.7.1 try later")))

        // One recipient refused but DATA accepted for the others: never send the data (it would
        // reach only some recipients); end the session instead.
        _ = machine.beginTransaction(from: "a@x.test", to: ["b@y.test", "c@y.test"], message: [])
        #expect(machine.receive(reply(250, "ok")) == .receive)
        #expect(machine.receive(reply(550, "5.1.1 unknown user")) == .receive)
        #expect(machine.receive(reply(250, "ok")) == .receive)
        #expect(machine.receive(reply(354, "go")) == .failed(.permanent(reason: "550 5.1.1 unknown user"), nothingSent: false))
        #expect(machine.isClosed)
    }

    @Test func pipelinedGroupLostBeforeAnyReplyMayBeRetried() {
        var machine = pipeliningMachine()
        _ = machine.beginTransaction(from: "a@x.test", to: ["b@y.test"], message: [])
        #expect(machine.connectionFailed(reason: "reset") == .failed(.temporary(reason: "reset"), nothingSent: true))
        var later = pipeliningMachine()
        _ = later.beginTransaction(from: "a@x.test", to: ["b@y.test"], message: [])
        _ = later.receive(reply(250, "ok"))
        #expect(later.connectionFailed(reason: "reset") == .failed(.temporary(reason: "reset"), nothingSent: false))
    }

    @Test func serverClosingAndLostConnectionAreTemporary() {
        var machine = SMTPSessionMachine(options: .init(heloName: "c", startTLS: .never))
        _ = machine.receive(reply(220, "hi"))
        _ = machine.receive(reply(250, "hi"))
        _ = machine.beginTransaction(from: "a@x.test", to: ["b@y.test"], message: [])
        #expect(machine.receive(reply(421, "4.4.2 idle timeout")) == .failed(.temporary(reason: "421 4.4.2 idle timeout"), nothingSent: true))
        var other = SMTPSessionMachine(options: .init(heloName: "c", startTLS: .never))
        #expect(other.connectionFailed(reason: "reset") == .failed(.temporary(reason: "reset"), nothingSent: false))
    }

    @Test func heloFallbackAndSizeLimit() {
        var machine = SMTPSessionMachine(options: .init(heloName: "c", startTLS: .opportunistic))
        _ = machine.receive(reply(220, "hi"))
        #expect(sent(machine.receive(reply(502, "no EHLO"))) == "HELO c\r\n")
        #expect(machine.receive(reply(250, "hi")) == .ready)
        var limited = SMTPSessionMachine(options: .init(heloName: "c", startTLS: .never))
        _ = limited.receive(reply(220, "hi"))
        _ = limited.receive(reply(250, "hi", "SIZE 10"))
        let action = limited.beginTransaction(from: "a@x.test", to: ["b@y.test"], message: [UInt8](repeating: 65, count: 20))
        #expect(action == .messageFinished(.permanent(reason: "message of 25 bytes exceeds the server's limit of 10 bytes")))
        #expect(limited.isReady)
    }
}
