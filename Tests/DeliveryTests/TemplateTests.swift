import Foundation
import JSON
import TestSupport
import Testing

@Suite struct TemplateTests {
    @Test func createAddVersionListAndGet() async throws {
        let h = try await DeliveryHarness.start()
        do {
            let create = try await h.client.send(
                "POST", "/templates",
                json: ["name": "Welcome", "subject": "Hi {{first_name}}", "html": "<p>Hello {{first_name}}</p>", "text": "Hello"])
            #expect(create.status == 200)
            #expect(create.header("X-Consistency-Token") != nil)
            let id = try #require(create.json["id"]?.stringValue)
            #expect(create.json["name"] == "Welcome")
            #expect(create.json["created"]?.intValue != nil)
            #expect(create.json["versions"]?.arrayValue?.count == 1)
            #expect(id.hasPrefix("tem_"))
            #expect(id.utf8.count == 28)
            #expect(create.json["versions"]?.arrayValue?.first?["name"] == "Welcome")
            #expect(create.json["locale"] == "en-US")

            let version = try await h.client.send(
                "POST", "/templates/\(id)/versions",
                json: ["name": "Version B", "subject": "Salut {{first_name}}", "html": "<p>Salut</p>", "locale": "fr-FR"])
            #expect(version.status == 200)
            #expect(version.json["id"]?.stringValue?.hasPrefix("ver_") == true)
            #expect(version.json["locale"] == "fr-FR")
            #expect(version.json["template_id"] == .string(id))

            let one = try await h.client.send("GET", "/templates/\(id)")
            #expect(one.status == 200)
            let versions = try #require(one.json["versions"]?.arrayValue)
            #expect(versions.map { $0["name"] } == ["Welcome", "Version B"])
            #expect(versions[1]["subject"] == "Salut {{first_name}}")
            #expect(versions[0]["html"] == "<p>Hello {{first_name}}</p>")
            #expect(versions[0]["text"] == "Hello")

            let list = try await h.client.send("GET", "/templates")
            #expect(list.status == 200)
            #expect(list.json.arrayValue?.map { $0["id"] } == [.string(id)])
            // The sendwithus client's prefix serves the same routes.
            let prefixed = try await h.client.send("GET", "/api/v1/templates/\(id)")
            #expect(prefixed.status == 200)
            #expect(prefixed.json["name"] == "Welcome")

            // The events are in the table.
            let events = try await h.app.store.readStream(tenant: "site1", stream: "template-\(id)")
            #expect(events.map(\.type) == ["template.created", "template.version_added", "template.version_added"])
            #expect(events[1].data["html"] == "<p>Hello {{first_name}}</p>")
        } catch {
            await h.shutdown()
            throw error
        }
        await h.shutdown()
    }

    @Test func parseErrorsAreRefusedWithLineAndColumn() async throws {
        let h = try await DeliveryHarness.start()
        let r = try await h.client.send(
            "POST", "/templates", json: ["name": "Bad", "subject": "ok", "html": "<p>\n  {{#items}}{{name}}\n  {{/item}}</p>"])
        #expect(r.status == 400)
        #expect(r.json["field"] == "html")
        #expect(r.json["line"] == 3)
        #expect(r.json["column"] == 3)
        #expect(r.json["success"] == false)
        #expect(r.json["error"]?.stringValue?.contains("line 3, column 3") == true)

        let subject = try await h.client.send("POST", "/templates", json: ["name": "Bad", "subject": "Hi {{name", "html": "x"])
        #expect(subject.status == 400)
        #expect(subject.json["field"] == "subject")
        #expect(subject.json["line"] == 1)
        #expect(subject.json["column"] == 4)

        let id = try await h.createTemplate(subject: "ok", html: "ok")
        let badVersion = try await h.client.send(
            "POST", "/templates/\(id)/versions", json: ["name": "v2", "subject": "ok", "html": "ok", "text": "{{^x}}"])
        #expect(badVersion.status == 400)
        #expect(badVersion.json["field"] == "text")
        // Nothing was appended for the refused saves.
        let events = try await h.app.store.readStream(tenant: "site1", stream: "template-\(id)")
        #expect(events.count == 2)
        await h.shutdown()
    }

    @Test func validationAndTenantIsolation() async throws {
        let h = try await DeliveryHarness.start()
        #expect(try await h.client.send("POST", "/templates", json: ["subject": "s", "html": "h"]).status == 400)
        #expect(try await h.client.send("POST", "/templates", json: ["name": "n", "html": "h"]).status == 400)
        #expect(try await h.client.send("POST", "/templates", json: ["name": "n", "subject": 3, "html": "h"]).status == 400)
        #expect(try await h.client.send("POST", "/templates", json: ["name": "n", "subject": "s", "html": "h", "locale": "en US"]).status == 400)
        #expect(try await h.client.send("POST", "/templates", body: Array("{".utf8), headers: [("Content-Type", "application/json")]).status == 400)
        #expect(try await h.client.send("POST", "/templates/tem_missing/versions", json: ["name": "n", "subject": "s", "html": "h"]).status == 404)
        #expect(try await h.client.send("GET", "/templates/tem_missing").status == 404)
        #expect(try await TestHTTPClient(port: h.app.port).send("GET", "/templates").status == 401)

        let id = try await h.createTemplate(subject: "s", html: "h")
        #expect(try await h.other.send("GET", "/templates/\(id)").status == 404)
        #expect(try await h.other.send("GET", "/templates").json == .array([]))
        #expect(try await h.other.send("POST", "/templates/\(id)/versions", json: ["name": "n", "subject": "s", "html": "h"]).status == 404)
        await h.shutdown()
    }

    @Test func brandsSaveAndRead() async throws {
        let h = try await DeliveryHarness.start()
        let id = try await h.createTemplate(subject: "s", html: "h")
        try await h.putBrand("brand-1", templateID: id, listUnsubscribe: "<mailto:unsub@photos.example>")
        let r = try await h.client.send("GET", "/v1/Brands/brand-1")
        #expect(r.status == 200)
        #expect(r.json["BrandId"] == "brand-1")
        #expect(r.json["From"] == "Photos Inc <hello@photos.example>")
        #expect(r.json["ReplyTo"] == "support@photos.example")
        #expect(r.json["Templates"]?["token"] == .string(id))
        #expect(r.json["ListUnsubscribe"] == "<mailto:unsub@photos.example>")

        let missing = try await h.client.send("GET", "/v1/Brands/nope")
        #expect(missing.status == 404)
        #expect(missing.json["Error"] == "brand not found")
        let unknownTemplate = try await h.client.send(
            "PUT", "/v1/Brands/b2", json: ["Name": "x", "From": "a@b.example", "Templates": ["token": "tem_unknown"]])
        #expect(unknownTemplate.status == 400)
        #expect(unknownTemplate.json["Error"]?.stringValue?.contains("unknown template") == true)
        let badFrom = try await h.client.send("PUT", "/v1/Brands/b2", json: ["Name": "x", "From": "nope", "Templates": [:]])
        #expect(badFrom.status == 400)
        #expect(badFrom.json["Error"] == "From is not a valid address")
        #expect(try await h.other.send("GET", "/v1/Brands/brand-1").status == 404)
        await h.shutdown()
    }
}
