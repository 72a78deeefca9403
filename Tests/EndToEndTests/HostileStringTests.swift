import EventStore
import Foundation
import JSON
import TestSupport
import Testing

/// Issue 9: strings that break hand-built SQL or naive encoders (quotes, backslashes, `%`/`_`
/// wildcards, dollar quotes, long non-ASCII text) go in through every service's string fields
/// and come back unchanged; a wildcard in a filter matches only itself. NUL, which PostgreSQL
/// text cannot hold, is refused up front with a 400 that changes nothing.
@Suite struct HostileStringTests {
    static let hostile: [String] = [
        "O'Brien\"; DROP TABLE events; --",
        "back\\slash \\\\ and \\u0041 and \\x00",
        "100% of _ and %_%",
        String(repeating: "Ünïcødé 日本語 🙂 ", count: 30),
        "$1 $2 ::text E'\\n' $$dollar$$",
    ]

    @Test func hostileStringsRoundTripThroughEveryService() async throws {
        let p = try await Platform.start()
        do {
            // Customer attributes and tracked event data: ingest → query.
            var attributes: JSONObject = ["email": "odd@example.com"]
            for (i, s) in Self.hostile.enumerated() { attributes["a\(i)"] = .string(s) }
            let put = try await p.writer.send("PUT", "/api/v1/customers/cust-odd", json: .object(attributes))
            #expect(put.status == 200, "\(put.text)")
            var data = JSONObject()
            for (i, s) in Self.hostile.enumerated() { data["d\(i)"] = .string(s) }
            let tracked = try await p.writer.send(
                "POST", "/api/v1/customers/cust-odd/events", json: ["name": .string(Self.hostile[0]), "data": .object(data)])
            #expect(tracked.status == 200, "\(tracked.text)")
            let token = [("X-Consistency-Token", tracked.header("X-Consistency-Token") ?? "")]
            let customer = try await p.reader.send("GET", "/api/v1/customers/cust-odd", headers: token)
            for (i, s) in Self.hostile.enumerated() {
                #expect(customer.json["customer"]?["data"]?["a\(i)"] == .string(s), "attribute \(i)")
            }
            let events = try await p.reader.send("GET", "/api/v1/customers/cust-odd/events", headers: token)
            let event = events.json["events"]?.arrayValue?.first
            #expect(event?["name"] == .string(Self.hostile[0]))
            for (i, s) in Self.hostile.enumerated() { #expect(event?["data"]?["d\(i)"] == .string(s), "event data \(i)") }

            // Ids with wildcards and quotes are ids like any other, and never match others.
            for id in ["100%", "a_b", "it's"] {
                let r = try await p.writer.send(
                    "PUT", "/api/v1/customers/\(id.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)", json: ["plan": .string(id)])
                #expect(r.status == 200, "\(id): \(r.text)")
            }
            let last = try await p.writer.send("PUT", "/api/v1/customers/axb", json: ["plan": "plain"])
            let lastToken = [("X-Consistency-Token", last.header("X-Consistency-Token") ?? "")]
            let underscore = try await p.reader.send("GET", "/api/v1/customers/a_b", headers: lastToken)
            #expect(underscore.json["customer"]?["data"]?["plan"] == "a_b")
            let quote = try await p.reader.send("GET", "/api/v1/customers/it%27s", headers: lastToken)
            #expect(quote.json["customer"]?["data"]?["plan"] == "it's")
            #expect(try await p.reader.send("GET", "/api/v1/customers/a%25", headers: lastToken).status == 404)

            // Templates, triggers, brands: delivery stores and shows them unchanged.
            for s in Self.hostile {
                let t = try await p.sender.send("POST", "/templates", json: ["name": .string(s), "subject": .string(s), "html": .string(s)])
                #expect(t.status == 200, "\(t.text)")
                let id = t.json["id"]?.stringValue ?? ""
                let shown = try await p.sender.send("GET", "/templates/\(id)")
                #expect(shown.json["name"] == .string(s))
                // Trigger names and events are limited to 200 characters.
                let short = String(s.prefix(200))
                let trigger = try await p.sender.send(
                    "POST", "/triggers", json: ["name": .string(short), "event": .string(short), "template_id": .string(id)])
                #expect(trigger.json["trigger"]?["name"] == .string(short))
                #expect(trigger.json["trigger"]?["event"] == .string(short))
            }
            let brand = try await p.sender.send(
                "PUT", "/v1/Brands/b_1", json: ["Name": .string(Self.hostile[2]), "From": "a@example.com", "Templates": [:]])
            #expect(brand.status == 200, "\(brand.text)")
            #expect(try await p.sender.send("GET", "/v1/Brands/b_1").json["Name"] == .string(Self.hostile[2]))
            #expect(try await p.sender.send("GET", "/v1/Brands/bX1").status == 404)

            // A wildcard in the history's exact-match filter matches nothing else.
            let wildcard = try await p.reader.send("GET", "/v1/Email/?Email=%25%40example.com")
            #expect(wildcard.status == 200 || wildcard.status == 400)
            #expect(wildcard.json["Emails"]?.arrayValue?.isEmpty ?? true)

            // NUL: refused with a clear 400 wherever it comes in, and nothing is appended.
            let before = try await p.ingest.store.pool.execute("SELECT count(*) FROM events")[0].int(0)
            let refusals = [
                try await p.writer.send("PUT", "/api/v1/customers/cust-nul", json: ["bad": "a\u{0}b"]),
                try await p.writer.send("PUT", "/api/v1/customers/cust-nul", form: [("bad", "a\u{0}b")]),
                try await p.writer.send("PUT", "/api/v1/customers/cust%00nul", json: ["ok": "yes"]),
                try await p.sender.send("POST", "/templates", json: ["name": "a\u{0}b", "subject": "s", "html": "h"]),
                try await p.reader.send("GET", "/v1/Email/?Email=a%00b@example.com"),
            ]
            for r in refusals {
                #expect(r.status == 400, "\(r.status) \(r.text)")
                #expect(r.text.contains("NUL") || r.text.contains("malformed") || r.text.contains("invalid"), "\(r.text)")
            }
            #expect(try await p.ingest.store.pool.execute("SELECT count(*) FROM events")[0].int(0) == before)
        } catch {
            await p.stop()
            throw error
        }
        await p.stop()
    }
}
