import Testing

@testable import Mail

@Suite struct MailTransportConfigurationTests {
    @Test func parsesSMTPWithCredentialsAndParameters() throws {
        let parsed = try MailTransportConfiguration.parse(
            "smtp://apikey:s%3Acret%40pw@smtp.example.com:587?tls=required&sessions=4&timeout=30&helo=mta.example.com&ca=/etc/ca.pem")
        guard case .smtp(let configuration) = parsed else {
            Issue.record("expected smtp")
            return
        }
        #expect(configuration.host == "smtp.example.com")
        #expect(configuration.port == 587)
        #expect(!configuration.implicitTLS)
        #expect(configuration.startTLS == .required)
        #expect(configuration.credentials == SMTPCredentials(username: "apikey", password: "s:cret@pw"))
        #expect(configuration.sessions == 4)
        #expect(configuration.commandTimeout == 30)
        #expect(configuration.heloName == "mta.example.com")
        #expect(configuration.tls.verification == .caFile("/etc/ca.pem"))
        #expect(!parsed.description.contains("s:cret") && !parsed.description.contains("s%3Acret"))
        #expect(!String(describing: configuration.credentials).contains("s:cret"))
    }

    @Test func defaultsAndOtherSchemes() throws {
        guard case .smtp(let plain) = try MailTransportConfiguration.parse("smtp://localhost") else {
            Issue.record("expected smtp")
            return
        }
        #expect(plain.port == 25 && plain.startTLS == .opportunistic && plain.credentials == nil)
        #expect(plain.tls.verification == .systemTrustStore)
        // Several sessions unless the URL says: one session sends one message at a time.
        #expect(plain.sessions == 4)
        guard case .smtp(let implicit) = try MailTransportConfiguration.parse("smtps://[::1]/?verify=false") else {
            Issue.record("expected smtps")
            return
        }
        #expect(implicit.host == "::1" && implicit.port == 465 && implicit.implicitTLS && implicit.tls.verification == .none)
        #expect(try MailTransportConfiguration.parse("file:///var/mail/out") == .file(directory: "/var/mail/out"))
    }

    @Test func refusesBadValuesWithoutEchoingSecrets() {
        let cases: [(String, MailConfigurationError)] = [
            ("http://x", .unsupportedScheme),
            ("localhost:25", .unsupportedScheme),
            ("smtp://", .missingHost),
            ("smtp://user:topsecret@:25", .missingHost),
            ("smtp://host:99999", .invalidPort),
            ("smtp://host:abc", .invalidPort),
            ("smtp://useronly@host", .invalidCredentials),
            ("smtp://user:bad%zzpw@host", .invalidCredentials),
            ("smtp://host?tls=maybe", .invalidParameter(name: "tls")),
            ("smtps://host?tls=required", .invalidParameter(name: "tls")),
            ("smtp://host?sessions=0", .invalidParameter(name: "sessions")),
            ("smtp://host?verify=false&ca=/x.pem", .invalidParameter(name: "verify")),
            ("smtp://host?colour=blue", .unknownParameter(name: "colour")),
            ("smtp://host/path", .invalidPath),
            ("file://relative/path", .invalidPath),
        ]
        for (text, expected) in cases {
            #expect(throws: expected) { try MailTransportConfiguration.parse(text) }
        }
        do {
            _ = try MailTransportConfiguration.parse("smtp://user:topsecret@host:0")
            Issue.record("expected an error")
        } catch {
            #expect(!error.description.contains("topsecret"))
        }
    }
}
