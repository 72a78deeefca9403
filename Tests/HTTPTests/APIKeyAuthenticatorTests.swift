import Testing

@testable import HTTP

@Suite struct APIKeyAuthenticatorTests {
    let auth = APIKeyAuthenticator(keys: ["site1": "key-one", "site2": "key-two"])

    func basic(_ credentials: String) -> String { "Basic " + base64(Array(credentials.utf8)) }

    func base64(_ bytes: [UInt8]) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
        var out = ""
        var i = 0
        while i < bytes.count {
            let b0 = Int(bytes[i])
            let b1 = i + 1 < bytes.count ? Int(bytes[i + 1]) : 0
            let b2 = i + 2 < bytes.count ? Int(bytes[i + 2]) : 0
            out.append(alphabet[b0 >> 2])
            out.append(alphabet[(b0 & 3) << 4 | b1 >> 4])
            out.append(i + 1 < bytes.count ? alphabet[(b1 & 15) << 2 | b2 >> 6] : "=")
            out.append(i + 2 < bytes.count ? alphabet[b2 & 63] : "=")
            i += 3
        }
        return out
    }

    func failure(_ header: String?) -> HTTPError? {
        do {
            _ = try auth.authenticate(authorization: header)
            return nil
        } catch {
            return error
        }
    }

    @Test func basicSiteAndKey() throws {
        #expect(try auth.authenticate(authorization: basic("site1:key-one")) == "site1")
        #expect(try auth.authenticate(authorization: basic("site2:key-two")) == "site2")
    }

    @Test func basicKeyAsUserName() throws {
        #expect(try auth.authenticate(authorization: basic("key-two:")) == "site2")
    }

    @Test func bearer() throws {
        #expect(try auth.authenticate(authorization: "Bearer key-one") == "site1")
        #expect(try auth.authenticate(authorization: "bearer key-two") == "site2")
    }

    @Test func wrongKeyOrMismatchedSite() {
        #expect(failure(basic("site1:key-two"))?.status.code == 401)
        #expect(failure(basic("site1:wrong"))?.status.code == 401)
        #expect(failure("Bearer nope")?.status.code == 401)
        #expect(failure(basic("nope:"))?.status.code == 401)
        #expect(failure("Basic !!!")?.status.code == 401)
        #expect(failure("Digest x")?.status.code == 401)
        #expect(failure("Bearer ")?.status.code == 401)
    }

    @Test func missingHeaderIs401WithChallenge() throws {
        let error = try #require(failure(nil))
        #expect(error.status.code == 401)
        #expect(error.headers["WWW-Authenticate"] == "Basic realm=\"api\"")
        let response = HTTPResponse.from(error: error)
        #expect(response.headers["www-authenticate"] == "Basic realm=\"api\"")
    }

    @Test func constantTimeEquals() {
        #expect(APIKeyAuthenticator.constantTimeEquals(Array("abc".utf8), Array("abc".utf8)))
        #expect(!APIKeyAuthenticator.constantTimeEquals(Array("abc".utf8), Array("abd".utf8)))
        #expect(!APIKeyAuthenticator.constantTimeEquals(Array("abc".utf8), Array("abcd".utf8)))
        #expect(!APIKeyAuthenticator.constantTimeEquals([], Array("a".utf8)))
        // Lengths differing by a multiple of 256 must not compare equal.
        #expect(!APIKeyAuthenticator.constantTimeEquals([], Array(repeating: 0, count: 256)))
    }
}
