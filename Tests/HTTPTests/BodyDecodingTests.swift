import JSON
import Testing

@testable import HTTP

@Suite struct BodyDecodingTests {
    func request(_ method: String = "POST", contentType: String?, body: String) throws(HTTPError) -> HTTPRequest {
        var headers: HTTPHeaders = ["Host": "h"]
        if let contentType { headers["Content-Type"] = contentType }
        return try HTTPRequest(method: method, target: "/", headers: headers, body: Array(body.utf8))
    }

    func status(_ body: () throws -> Any?) -> Int? {
        do {
            _ = try body()
            return nil
        } catch {
            return (error as? HTTPError)?.status.code ?? -1
        }
    }

    @Test func nestedFormKeys() throws {
        let value = try FormDecoder.decode(Array("data[price]=23.45&data[name]=x&email=a%40b.com&a[b][c]=deep".utf8))
        #expect(
            value == [
                "data": ["price": "23.45", "name": "x"], "email": "a@b.com", "a": ["b": ["c": "deep"]],
            ])
    }

    @Test func formPlusAndPercentDecoding() throws {
        let value = try FormDecoder.decode(Array("name=John+Smith&note=1%2B1%3D2&empty=&list[]=a&list[]=b".utf8))
        #expect(value["name"] == "John Smith")
        #expect(value["note"] == "1+1=2")
        #expect(value["empty"] == "")
        #expect(value["list"] == ["a", "b"])
    }

    @Test func formRejectsBadEncoding() {
        #expect(status { try FormDecoder.decode(Array("a=%ZZ".utf8)) } == 400)
        #expect(status { try FormDecoder.decode(Array("a=%FF%FE".utf8)) } == 400)
        #expect(status { try FormDecoder.decode([0x61, 0x3D, 0xFF]) } == 400)
        #expect(status { try FormDecoder.decode(Array("a[b=1".utf8)) } == 400)
    }

    @Test func jsonBody() throws {
        let r = try request(contentType: "application/json; charset=utf-8", body: #"{"a":1}"#)
        #expect(try r.decodeJSONBody() == ["a": 1])
        #expect(try r.decodeBody() == ["a": 1])
    }

    @Test func jsonBodyErrors() throws {
        #expect(status { try request(contentType: "text/plain", body: "{}").decodeJSONBody() } == 415)
        #expect(status { try request(contentType: nil, body: "{}").decodeJSONBody() } == 415)
        #expect(status { try request(contentType: "application/json", body: "{").decodeJSONBody() } == 400)
        #expect(status { try request(contentType: "application/json", body: "").decodeJSONBody() } == 400)
        do {
            _ = try request(contentType: "application/json", body: "").decodeJSONBody()
        } catch {
            #expect(error.message == "body required")
        }
    }

    @Test func decodeBodyTolerance() throws {
        #expect(try request("GET", contentType: "application/json", body: "").decodeBody() == nil)
        #expect(try request("DELETE", contentType: "application/json", body: "{}").decodeBody() == [:])
        #expect(try request(contentType: "application/x-www-form-urlencoded", body: "a=1").decodeBody() == ["a": "1"])
        #expect(status { try request(contentType: "text/xml", body: "<a/>").decodeBody() } == 415)
        #expect(status { try request(contentType: "application/json", body: "").decodeRequiredBody() } == 400)
    }

    @Test func formBody() throws {
        let r = try request(contentType: "application/x-www-form-urlencoded", body: "data[x]=1")
        #expect(try r.decodeFormBody() == ["data": ["x": "1"]])
        #expect(status { try request(contentType: "application/json", body: "a=1").decodeFormBody() } == 415)
    }
}
