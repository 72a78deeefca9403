import EventStore
import Foundation
import JSON
import Postgres
import TestSupport
import Testing

/// Erasure across the whole platform: a customer who was sent a triggered email and a direct
/// one, then erased through `ingest`, leaves nothing readable in any service's tables (the
/// delivery tables included: triggers, scheduling, outbox, webhook correlation), as a pg_dump
/// of the shared database shows.
@Suite struct PlatformErasureTests {
    @Test func anErasedCustomerLeavesNothingReadableInAnyServicesTables() async throws {
        let p = try await Platform.start()
        do {
            let suffix = UInt32.random(in: 1000...9999)
            let email = "erase.everywhere.\(suffix)@example.com"
            let secrets = [
                email, "Atlantis-Attribute-\(suffix)", "Oroboros-Order-\(suffix)", "Samarkand-Name-\(suffix)",
                "Tokamak-Token-\(suffix)", "Gondwana-Group-\(suffix)",
            ]
            let template = try await p.sender.send(
                "POST", "/templates", json: ["name": "Thanks", "subject": "Thanks {{city}}", "html": "<p>{{note}}</p>"])
            let templateID = try #require(template.json["id"]?.stringValue)
            let trigger = try await p.sender.send(
                "POST", "/triggers", json: ["name": "Thanks", "event": "purchased", "template_id": .string(templateID)])
            try #require(trigger.status == 201, "\(trigger.text)")

            let created = try await p.writer.send(
                "POST", "/customers", json: ["email": .string(email), "data": ["city": .string(secrets[1])]])
            try #require(created.status == 200, "\(created.text)")
            let tracked = try await p.writer.send(
                "POST", "/api/v1/customers/\(email)/events", json: ["name": "purchased", "data": ["note": .string(secrets[2])]])
            try #require(tracked.status == 200, "\(tracked.text)")
            let sent = try await p.sender.send(
                "POST", "/send",
                json: [
                    "email_id": .string(templateID), "recipient": ["address": .string(email), "name": .string(secrets[3])],
                    "email_data": ["note": .string(secrets[2])],
                ])
            try #require(sent.status == 200, "\(sent.text)")
            // And through the /v1 batch API, with its token and group.
            let brand = try await p.sender.send(
                "PUT", "/v1/Brands/photos",
                json: ["Name": "Photos", "From": "Photos <hello@photos.example>", "Templates": ["tokenAndGroup": .string(templateID)]])
            try #require(brand.status == 200, "\(brand.text)")
            let batch = try await p.sender.send(
                "POST", "/v1/Email/",
                json: [
                    "Messages": [
                        [
                            "To": .string(email), "Type": "tokenAndGroup", "BrandId": "photos", "Token": .string(secrets[4]),
                            "NumPhotos": 3, "GroupId": .string(secrets[5]),
                        ]
                    ]
                ])
            #expect(batch.json["Results"]?.arrayValue?.first?["Status"]?.intValue == 200, "\(batch.text)")
            let mail = try await p.mail(count: 3)
            #expect(mail.allSatisfy { $0.to.map(\.address) == [email] })
            // Provider events about them, quoting their address the way servers and links do: a
            // deferral on the direct email's log, and a click that matches no log (kept as
            // pending until one appears); and a spam report, which suppresses the address.
            let logID = try #require(sent.json["receipt_id"]?.stringValue)
            let encoded = email.replacingOccurrences(of: "@", with: "%40")
            let webhook = try await p.postSendGrid([
                sendGridEvent(
                    "deferred", email: email, logID: logID,
                    extra: ["response": .string("452 4.2.2 <\(email)>: Mailbox full"), "attempt": "1"]),
                sendGridEvent(
                    "click", email: email,
                    extra: ["sg_message_id": "SG-NOBODY.filter.1", "url": .string("https://example.com/prefs?email=\(encoded)")]),
                sendGridEvent("spamreport", email: email, logID: logID),
            ])
            #expect(webhook.json["attached"]?.intValue == 2 && webhook.json["unmatched"]?.intValue == 1, "\(webhook.text)")
            let timeline = try await p.read("/logs/\(logID)/events") { ($0.json.arrayValue?.count ?? 0) >= 5 }
            #expect(
                timeline.json.arrayValue?.contains {
                    $0["message"]?.stringValue?.hasSuffix("452 4.2.2 <[address]>: Mailbox full") == true
                } == true, "\(timeline.text)")
            let listed = try await p.sender.send("GET", "/suppressions")
            #expect(listed.json["suppressions"]?.arrayValue?.map { $0["email"] } == [.string(email)], "\(listed.text)")
            // A response kept for an Idempotency-Key that quotes the address (bytea in the dump,
            // so looked for directly).
            let deactivated = try await p.sender.send(
                "POST", "/api/v1/drips/deactivate", json: ["email_address": .string(email)],
                headers: [("Idempotency-Key", "deactivate-\(suffix)")])
            #expect(deactivated.status == 200 && deactivated.text.contains(email), "\(deactivated.text)")
            let storedResponses = {
                try await p.delivery.store.pool.execute(
                    "SELECT count(*) FROM idempotency_keys WHERE strpos(convert_from(body, 'UTF8'), $1) > 0", [email])[0].int(0)
            }
            #expect(try await storedResponses() == 1)
            let dumpBefore = try ErasureEndToEndTests.pgDump(p.databaseURL)
            #expect(secrets.allSatisfy { dumpBefore.contains($0) }, "the read tables hold plaintext before the erasure")

            let deleted = try await p.writer.send("DELETE", "/customers/\(email)")
            try #require(deleted.status == 200, "\(deleted.text)")
            let token = try #require(Checkpoint(token: deleted.header("X-Consistency-Token") ?? ""))
            try await p.delivery.waitForConsistency(token, timeout: .seconds(20))
            try await p.query.waitForConsistency(token, timeout: .seconds(20))
            let dumpAfter = try ErasureEndToEndTests.pgDump(p.databaseURL)
            for s in secrets {
                let tables = Self.tablesHolding(s, in: dumpAfter)
                #expect(tables.isEmpty, "\(s) is still in the dump after the erasure, in \(tables)")
            }
            #expect(try await storedResponses() == 0, "a stored response still quotes the erased address")
            // Rebuilding every projection of delivery and query from the first event brings none
            // of it back: what is left of the customer in the events no longer opens.
            for app in [p.delivery, p.query] { #expect(try await app.rebuildEveryProjection()) }
            let dumpRebuilt = try ErasureEndToEndTests.pgDump(p.databaseURL)
            for s in secrets {
                let tables = Self.tablesHolding(s, in: dumpRebuilt)
                #expect(tables.isEmpty, "\(s) is back after a rebuild, in \(tables)")
            }
            // The address stays suppressed, without the address: mail to it is still refused.
            let after = try await p.sender.send("GET", "/suppressions")
            #expect(after.json["suppressions"]?.arrayValue?.map { $0["email"] } == [.null], "\(after.text)")
            let refused = try await p.sender.send(
                "POST", "/send", json: ["email_id": .string(templateID), "recipient": ["address": .string(email)]])
            #expect(refused.status == 422, "\(refused.text)")
        } catch {
            await p.stop()
            throw error
        }
        await p.stop()
    }

    /// The tables whose rows in a pg_dump contain `text` (the `COPY` block each line is in).
    static func tablesHolding(_ text: String, in dump: String) -> [String] {
        var table = "(outside a table's rows)"
        var found: [String] = []
        for line in dump.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("COPY ") { table = String(line.dropFirst(5).prefix { $0 != " " }) }
            if line.contains(text), !found.contains(table) { found.append(table) }
        }
        return found
    }
}
