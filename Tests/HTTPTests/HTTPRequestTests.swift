import Testing

@testable import HTTP

@Suite struct HTTPRequestTests {
    @Test func segmentsAreSplitBeforeDecoding() throws {
        let r = try HTTPRequest(method: "GET", target: "/customers/a%2Fb%40c.com%2B1/logs")
        #expect(r.pathSegments == ["customers", "a/b@c.com+1", "logs"])
        #expect(r.path == "/customers/a%2Fb%40c.com%2B1/logs")
    }

    @Test func rawPlusStaysPlusInPath() throws {
        let r = try HTTPRequest(method: "GET", target: "/customers/a+b@x.com")
        #expect(r.pathSegments == ["customers", "a+b@x.com"])
    }

    @Test(arguments: ["/a%", "/a%2", "/a%zz", "/a%ff", "/x?q=%G1"])
    func invalidPercentEncodingIs400(_ target: String) {
        do {
            _ = try HTTPRequest(method: "GET", target: target)
            Issue.record("expected an error")
        } catch {
            #expect(error.status == .badRequest)
        }
    }

    @Test func queryDecoding() throws {
        let r = try HTTPRequest(method: "GET", target: "/s?q=a+b%2Bc&empty=&flag&q=2")
        #expect(r.query["q"] == "a b+c")
        #expect(r.query.values(for: "q") == ["a b+c", "2"])
        #expect(r.query["empty"] == "")
        #expect(r.query["flag"] == "")
        #expect(r.query["missing"] == nil)
        #expect(r.pathSegments == ["s"])
    }

    @Test func headersAreCaseInsensitive() throws {
        let r = try HTTPRequest(method: "GET", target: "/", headers: ["Content-Type": "application/json"])
        #expect(r.headers["content-type"] == "application/json")
        #expect(r.headers["CONTENT-TYPE"] == "application/json")
        #expect(r.headers["content-typ"] == nil)
    }
}
