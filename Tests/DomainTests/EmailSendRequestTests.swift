import Domain
import JSON
import Testing

@Suite struct EmailSendRequestTests {
    static let base: JSONObject = ["To": "example@example.com", "BrandId": "brand-1"]

    static func message(_ extra: JSONObject) -> JSON {
        var o = base
        for (k, v) in extra.members { o[k] = v }
        return .object(o)
    }

    @Test func acceptsEachType() throws {
        let token = try EmailSendRequest.validate(Self.message(["Type": "token", "Token": "abcde", "NumPhotos": 10, "GroupId": "ignored"]))
        #expect(token == EmailSendRequest(to: "example@example.com", type: .token, brandID: "brand-1", token: "abcde", numPhotos: 10))
        let group = try EmailSendRequest.validate(Self.message(["Type": "group", "GroupId": "g-1", "Token": 5]))
        #expect(group == EmailSendRequest(to: "example@example.com", type: .group, brandID: "brand-1", groupID: "g-1"))
        let both = try EmailSendRequest.validate(Self.message(["Type": "tokenAndGroup", "Token": "t", "NumPhotos": -1, "GroupId": "g"]))
        #expect(both.numPhotos == -1)
        #expect(both.groupID == "g")
        #expect(both.msgDetails.keys == ["To", "Type", "BrandId", "Token", "NumPhotos", "GroupId"])
        #expect(JSON.object(both.msgDetails).text == #"{"To":"example@example.com","Type":"tokenAndGroup","BrandId":"brand-1","Token":"t","NumPhotos":-1,"GroupId":"g"}"#)
    }

    static let invalid: [(JSON, EmailSendRequestError)] = [
        (JSON.string("x"), EmailSendRequestError.notAnObject),
        (["Type": "token", "BrandId": "b", "Token": "t", "NumPhotos": 1], .missing(field: "To")),
        (["To": "", "Type": "token"], .missing(field: "To")),
        (["To": 5, "Type": "token"], .wrongType(field: "To", expected: "a string")),
        (["To": "not-an-address", "Type": "token"], .invalidTo(.missingAt)),
        (["To": "a@example.com", "BrandId": "b"], .missing(field: "Type")),
        (["To": "a@example.com", "Type": "purchase", "BrandId": "b"], .unknownType),
        (["To": "a@example.com", "Type": "Token", "BrandId": "b"], .unknownType),
        (["To": "a@example.com", "Type": "token", "Token": "t", "NumPhotos": 1], .missing(field: "BrandId")),
        (["To": "a@example.com", "Type": "token", "BrandId": nil], .missing(field: "BrandId")),
        (["To": "a@example.com", "Type": "token", "BrandId": "b", "NumPhotos": 1], .requiredForType(field: "Token", type: .token)),
        (["To": "a@example.com", "Type": "token", "BrandId": "b", "Token": "", "NumPhotos": 1], .requiredForType(field: "Token", type: .token)),
        (["To": "a@example.com", "Type": "token", "BrandId": "b", "Token": 12, "NumPhotos": 1], .wrongType(field: "Token", expected: "a string")),
        (["To": "a@example.com", "Type": "token", "BrandId": "b", "Token": "t"], .requiredForType(field: "NumPhotos", type: .token)),
        (["To": "a@example.com", "Type": "tokenAndGroup", "BrandId": "b", "Token": "t", "GroupId": "g"], .requiredForType(field: "NumPhotos", type: .tokenAndGroup)),
        (["To": "a@example.com", "Type": "token", "BrandId": "b", "Token": "t", "NumPhotos": -2], .invalidNumPhotos),
        (["To": "a@example.com", "Type": "token", "BrandId": "b", "Token": "t", "NumPhotos": .number("1.5")], .invalidNumPhotos),
        (["To": "a@example.com", "Type": "token", "BrandId": "b", "Token": "t", "NumPhotos": "10"], .wrongType(field: "NumPhotos", expected: "an integer")),
        (["To": "a@example.com", "Type": "group", "BrandId": "b"], .requiredForType(field: "GroupId", type: .group)),
        (["To": "a@example.com", "Type": "tokenAndGroup", "BrandId": "b", "Token": "t", "NumPhotos": 0], .requiredForType(field: "GroupId", type: .tokenAndGroup)),
    ]

    @Test(arguments: invalid)
    func refuses(_ message: JSON, _ expected: EmailSendRequestError) {
        #expect(throws: expected) { try EmailSendRequest.validate(message) }
    }

    @Test func messagesNameTheFieldWithoutValues() {
        #expect(EmailSendRequestError.requiredForType(field: "Token", type: .token).description == "Token is required for Type token")
        #expect(EmailSendRequestError.requiredForType(field: "GroupId", type: .group).description == "GroupId is required for Type group")
        #expect(EmailSendRequestError.missing(field: "BrandId").description == "BrandId is required")
        #expect(EmailSendRequestError.unknownType.description == "Type must be one of token, group, tokenAndGroup")
    }
}
