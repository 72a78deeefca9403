import DeliveryService
import EventStore
import Foundation
import HTTP
import IngestService
import JSON
import QueryService
import Service
import TestSupport
import Testing

/// Issue 9: every endpoint of the three services, without credentials, with a wrong key, and
/// with another tenant's ids: 401 or 404, never another tenant's data. The route lists come
/// from the routers themselves, so a new endpoint is covered the day it is added.
@Suite struct AuthenticationAndIsolationTests {
    /// The routes every service serves without an API key: probes, metrics, and the provider
    /// webhooks (which verify the provider's own signature or credentials instead).
    static let publicRoutes: Set<String> = ["GET /healthz", "GET /readyz", "GET /metrics", "POST /webhooks/:provider/:site"]

    /// Fills a route pattern's parameters with site1's resources.
    static func path(_ pattern: String, _ ids: [String: String]) -> String {
        pattern.split(separator: "/", omittingEmptySubsequences: false).map { part -> String in
            guard part.hasPrefix(":") else { return String(part) }
            let name = String(part.dropFirst())
            if name == "id" {
                if pattern.contains("template") { return ids["template"]! }
                if pattern.contains("drip") { return ids["campaign"]! }
                if pattern.contains("trigger") { return ids["trigger"]! }
                return ids["customer"]!
            }
            return ids[name] ?? "x"
        }.joined(separator: "/")
    }

    @Test func everyEndpointRefusesStrangersAndHidesOtherTenantsData() async throws {
        let p = try await Platform.start()
        do {
            // site1's resources, each with a marker that must never reach site2.
            let marker = "SITE1-PRIVATE-\(UInt32.random(in: 100_000...999_999))"
            let template = try await p.sender.send("POST", "/templates", json: ["name": .string(marker), "subject": "s", "html": "h"])
            let templateID = try #require(template.json["id"]?.stringValue)
            let trigger = try await p.sender.send(
                "POST", "/triggers", json: ["name": .string(marker), "event": "x", "template_id": .string(templateID)])
            let triggerID = try #require(trigger.json["trigger"]?["id"]?.stringValue)
            let campaign = try await p.sender.send(
                "POST", "/drip_campaigns",
                json: ["name": .string(marker), "steps": [["template_id": .string(templateID), "delay_seconds": 3600]]])
            let campaignID = try #require(campaign.json["drip_campaign"]?["id"]?.stringValue)
            _ = try await p.sender.send(
                "PUT", "/v1/Brands/brand-1",
                json: ["Name": .string(marker), "From": "a@example.com", "Templates": ["token": .string(templateID)]])
            let customer = try await p.writer.send(
                "PUT", "/api/v1/customers/cust-1", json: ["email": "ann@example.com", "secret": .string(marker)])
            try #require(customer.status == 200)
            _ = try await p.writer.send("POST", "/customers", json: ["email": "ann@example.com", "data": ["secret": .string(marker)]])
            let sent = try await p.sender.send(
                "POST", "/send", json: ["email_id": .string(templateID), "recipient": ["address": "ann@example.com"]])
            let logID = try #require(sent.json["receipt_id"]?.stringValue)
            _ = try await p.read("/logs/\(logID)") { $0.status == 200 }
            _ = try await p.read("/api/v1/customers/cust-1") { $0.status == 200 }
            let ids = [
                "template": templateID, "trigger": triggerID, "campaign": campaignID, "customer": "cust-1",
                "email": "ann@example.com", "log_id": logID, "BrandId": "brand-1", "provider": "sendgrid", "site": "site1",
            ]

            // Ingest last: site2's own writes there (a PUT creates site2's own cust-1) would
            // otherwise give the reads site2's data rather than a 404.
            let services: [(String, [Router.Route], Int)] = [
                ("query", try await ServiceRoutes.of(QueryService.self, databaseURL: p.databaseURL), p.query.port),
                ("delivery", try await ServiceRoutes.of(DeliveryService.self, databaseURL: p.databaseURL), p.delivery.port),
                ("ingest", try await ServiceRoutes.of(IngestService.self, databaseURL: p.databaseURL), p.ingest.port),
            ]
            var checked = 0
            for (service, routes, port) in services {
                for route in routes {
                    let name = "\(route.method) \(route.pattern)"
                    let path = Self.path(route.pattern, ids)
                    #expect(route.requiresAuth || Self.publicRoutes.contains(name), "\(service): \(name) is served without a key")
                    guard route.requiresAuth else { continue }
                    for credentials in [nil, ("site1", "wrong"), ("site1", "key2"), ("nobody", "key1")] as [(String, String)?] {
                        let client = TestHTTPClient(port: port, basicAuth: credentials)
                        let r = try await client.send(route.method, path, json: [:])
                        #expect(r.status == 401, "\(service): \(name) with \(credentials?.0 ?? "no") credentials: \(r.status)")
                        #expect(!r.text.contains(marker))
                        checked += 1
                    }
                    // site2, authenticated, aiming at site1's resources.
                    let intruder = TestHTTPClient(port: port, basicAuth: ("site2", "key2"))
                    let r = try await intruder.send(route.method, path, json: [:])
                    #expect(!r.text.contains(marker), "\(service): \(name) showed site1's data to site2")
                    #expect(!r.text.contains(logID) && !r.text.contains(templateID), "\(service): \(name) showed site1's ids to site2")
                    let createsItsOwn = ["PUT /v1/Brands/:BrandId", "PUT /api/v1/customers/:id"].contains(name)
                    // A customer's log list answers for any address (seed 001): for site2 it is empty.
                    let isEmptyList = route.pattern.hasSuffix("/logs") && r.json["logs"]?.arrayValue?.isEmpty == true
                    if route.pattern.contains(":") && !createsItsOwn && !isEmptyList {
                        #expect((400..<500).contains(r.status), "\(service): \(name) as site2 answered \(r.status)")
                    }
                }
            }
            #expect(checked > 150)

            // Nothing site2 did touched site1's resources.
            #expect(try await p.reader.send("GET", "/api/v1/customers/cust-1").json["customer"]?["data"]?["secret"] == .string(marker))
            #expect(try await p.sender.send("GET", "/templates/\(templateID)").status == 200)
            #expect(try await p.sender.send("GET", "/triggers/\(triggerID)").json["trigger"]?["active"] == true)
            #expect(try await p.sender.send("GET", "/v1/Brands/brand-1").json["Name"] == .string(marker))
            #expect(try await p.reader.send("GET", "/logs/\(logID)").status == 200)
        } catch {
            await p.stop()
            throw error
        }
        await p.stop()
    }
}
