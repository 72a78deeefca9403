import Domain
import JSON
import Testing

@Suite struct CustomerMergeTests {
    @Test func replacesAddsAndNeverRemoves() {
        let existing: JSONObject = ["first_name": "Matt", "city": "San Francisco", "age": 30]
        let update: JSONObject = ["city": "Berlin", "plan": "premium"]
        let merged = CustomerProfile.merge(existing: existing, update: update)
        #expect(merged.keys == ["first_name", "city", "age", "plan"])
        #expect(merged["city"] == "Berlin")
        #expect(merged["first_name"] == "Matt")
        #expect(merged["age"] == .number("30"))
        #expect(merged["plan"] == "premium")
    }

    @Test func emptyUpdateKeepsEverything() {
        let existing: JSONObject = ["a": 1, "b": true]
        #expect(CustomerProfile.merge(existing: existing, update: [:]) == existing)
    }

    @Test func typesAreKept() throws {
        let update = try #require(JSON.parse(#"{"price": 23.45, "text": "23.45", "ok": false}"#).objectValue)
        let merged = CustomerProfile.merge(existing: ["price": "old"], update: update)
        #expect(merged["price"] == .number("23.45"))
        #expect(merged["text"] == .string("23.45"))
        #expect(merged["ok"] == .bool(false))
        #expect(JSON.object(merged).text == #"{"price":23.45,"text":"23.45","ok":false}"#)
    }
}

@Suite struct CustomerValidationTests {
    static func name(_ n: Int) -> String { String(repeating: "a", count: n) }

    @Test func customerIDLimits() throws {
        try CustomerAttributeRules.validateCustomerID(Self.name(150))
        try CustomerAttributeRules.validateCustomerID("é" + Self.name(148))  // 150 bytes
        #expect(throws: CustomerValidationError.customerIDTooLong(maximumBytes: 150)) {
            try CustomerAttributeRules.validateCustomerID(Self.name(151))
        }
        #expect(throws: CustomerValidationError.customerIDTooLong(maximumBytes: 150)) {
            try CustomerAttributeRules.validateCustomerID("é" + Self.name(149))  // 151 bytes
        }
        #expect(throws: CustomerValidationError.emptyCustomerID) { try CustomerAttributeRules.validateCustomerID("") }
        #expect(throws: CustomerValidationError.customerIDHasControlCharacter) {
            try CustomerAttributeRules.validateCustomerID("a\nb")
        }
    }

    @Test func attributeNameLimits() throws {
        try CustomerAttributeRules.validateAttribute(name: Self.name(150), value: "x")
        #expect(throws: CustomerValidationError.attributeNameTooLong(maximumBytes: 150)) {
            try CustomerAttributeRules.validateAttribute(name: Self.name(151), value: "x")
        }
        #expect(throws: CustomerValidationError.emptyAttributeName) {
            try CustomerAttributeRules.validateAttribute(name: "", value: "x")
        }
    }

    @Test func valueLimits() throws {
        try CustomerAttributeRules.validateAttribute(name: "s", value: .string(Self.name(1000)))
        try CustomerAttributeRules.validateAttribute(name: "s", value: .string(String(repeating: "é", count: 500)))
        #expect(throws: CustomerValidationError.valueTooLong(attribute: "s", maximumBytes: 1000)) {
            try CustomerAttributeRules.validateAttribute(name: "s", value: .string(Self.name(1001)))
        }
        #expect(throws: CustomerValidationError.valueTooLong(attribute: "s", maximumBytes: 1000)) {
            try CustomerAttributeRules.validateAttribute(name: "s", value: .string(String(repeating: "é", count: 500) + "a"))
        }
        let digits1000 = String(repeating: "9", count: 1000)
        try CustomerAttributeRules.validateAttribute(name: "n", value: .number(digits1000))
        #expect(throws: CustomerValidationError.valueTooLong(attribute: "n", maximumBytes: 1000)) {
            try CustomerAttributeRules.validateAttribute(name: "n", value: .number(digits1000 + "9"))
        }
        try CustomerAttributeRules.validateAttribute(name: "b", value: true)
    }

    @Test func nestedAndNullValuesNameTheAttribute() throws {
        let update = try #require(JSON.parse(#"{"ok": 1, "address": {"city": "Paris"}}"#).objectValue)
        #expect(throws: CustomerValidationError.nestedValue(attribute: "address")) {
            try CustomerAttributeRules.validateAttributes(update)
        }
        #expect(throws: CustomerValidationError.nestedValue(attribute: "tags")) {
            try CustomerAttributeRules.validateAttributes(["tags": ["a", "b"]])
        }
        #expect(throws: CustomerValidationError.nullValue(attribute: "gone")) {
            try CustomerAttributeRules.validateAttributes(["gone": nil])
        }
        let message = CustomerValidationError.nestedValue(attribute: "address").description
        #expect(message.contains("\"address\""))
        #expect(!message.contains("Paris"))
    }

    @Test func valueErrorsNeverEchoValues() {
        let secret = "s3cr3t-value-" + Self.name(1000)
        do {
            try CustomerAttributeRules.validateAttribute(name: "token", value: .string(secret))
            Issue.record("expected an error")
        } catch {
            #expect(error.description.contains("token"))
            #expect(!error.description.contains("s3cr3t"))
        }
    }

    static func attributes(_ count: Int, prefix: String) -> JSONObject {
        JSONObject((0..<count).map { ("\(prefix)\($0)", JSON.int($0)) })
    }

    @Test func attributeCountIsCheckedAfterMerge() throws {
        let existing = Self.attributes(200, prefix: "a")
        let merged = try CustomerAttributeRules.validatedMerge(existing: existing, update: Self.attributes(100, prefix: "b"))
        #expect(merged.count == 300)
        // Replacing existing attributes does not add to the count.
        let replaced = try CustomerAttributeRules.validatedMerge(existing: merged, update: Self.attributes(200, prefix: "a"))
        #expect(replaced.count == 300)
        #expect(throws: CustomerValidationError.tooManyAttributes(count: 301, maximum: 300)) {
            try CustomerAttributeRules.validatedMerge(existing: merged, update: ["one_more": "x"])
        }
        #expect(throws: CustomerValidationError.tooManyAttributes(count: 301, maximum: 300)) {
            try CustomerAttributeRules.validatedMerge(existing: [:], update: Self.attributes(301, prefix: "c"))
        }
    }

    @Test func validatedMergeRejectsBadValuesBeforeMerging() {
        #expect(throws: CustomerValidationError.nestedValue(attribute: "x")) {
            try CustomerAttributeRules.validatedMerge(existing: ["x": "old"], update: ["x": [:]])
        }
    }
}

@Suite struct EmailAddressTests {
    static let l64 = String(repeating: "l", count: 64)
    static let d63 = String(repeating: "d", count: 63)
    static let e63 = String(repeating: "e", count: 63)
    /// 64 + 1 + 63 + 1 + 63 + 1 + 57 + 4 = 254 bytes.
    static let longest: String = l64 + "@" + d63 + "." + e63 + "." + String(repeating: "f", count: 57) + ".com"
    static let tooLong: String = l64 + "@" + d63 + "." + e63 + "." + String(repeating: "f", count: 58) + ".com"

    static let valid: [String] = [
        "matt@sendwithus.com", "customer@example.com", "first.last+tag@sub.example.co.uk", "a@b.io",
        "o'brien@example.org", "user@xn--bcher-kva.example", "josé@exämple.de", "x_y-z@example-mail.com",
        l64 + "@example.com", longest,
    ]

    @Test(arguments: valid)
    func accepts(_ address: String) {
        #expect(EmailAddressRules.problem(with: address) == nil)
    }

    static let invalid: [(String, EmailAddressProblem)] = [
        ("", .empty),
        ("plainaddress", .missingAt),
        ("a@b@example.com", .multipleAt),
        ("@example.com", .emptyLocalPart),
        ("l" + l64 + "@example.com", .localPartTooLong),
        ("user@localhost", .domainWithoutDot),
        ("user@", .invalidDomain),
        ("user@.example.com", .invalidDomain),
        ("user@example..com", .invalidDomain),
        ("user@example.com.", .invalidDomain),
        ("user@-example.com", .invalidDomain),
        ("user@example.c", .invalidDomain),
        ("user@exa_mple.com", .invalidDomain),
        ("us er@example.com", .whitespaceOrControl),
        ("user@example.com ", .whitespaceOrControl),
        ("user\u{0}@example.com", .whitespaceOrControl),
        ("user\t@example.com", .whitespaceOrControl),
        (".user@example.com", .invalidLocalPart),
        ("user.@example.com", .invalidLocalPart),
        ("us..er@example.com", .invalidLocalPart),
        ("<user>@example.com", .invalidLocalPart),
        ("user,x@example.com", .invalidLocalPart),
        ("us\\er@example.com", .invalidLocalPart),
        ("jos\u{E9}..x@example.com", .invalidLocalPart),
        ("jos\u{E9}[x@example.com", .invalidLocalPart),
        ("user\u{7F}@example.com", .whitespaceOrControl),
        ("user\u{A0}@example.com", .whitespaceOrControl),
        (tooLong, .tooLong),
    ]

    @Test func tableBoundsAreWhatTheySay() {
        #expect(Self.longest.utf8.count == 254)
        #expect(Self.tooLong.utf8.count == 255)
    }

    @Test(arguments: invalid)
    func refuses(_ address: String, _ problem: EmailAddressProblem) {
        #expect(EmailAddressRules.problem(with: address) == problem)
        #expect(!EmailAddressRules.isValid(address))
    }

    @Test func customerEmailErrorDoesNotEchoTheAddress() {
        #expect(throws: CustomerValidationError.invalidEmail(.missingAt)) {
            try CustomerAttributeRules.validateEmail("secret-person")
        }
        #expect(!CustomerValidationError.invalidEmail(.missingAt).description.contains("secret"))
    }
}

@Suite struct CustomerProfileTests {
    @Test func createThenUpdateMergesAndKeepsFirstCreation() {
        var profile = CustomerProfile.applying(
            .created(email: "m@example.com", attributes: ["a": 1], locale: "en-US", at: 100), to: nil, id: "m@example.com")
        profile = CustomerProfile.applying(
            .updated(email: nil, attributes: ["b": "x"], locale: nil, at: 200), to: profile, id: "m@example.com")
        profile = CustomerProfile.applying(
            .created(email: nil, attributes: ["a": 2], locale: "de-DE", at: 300), to: profile, id: "m@example.com")
        let p = try! #require(profile)
        #expect(p.created == 100)
        #expect(p.updated == 300)
        #expect(p.email == "m@example.com")
        #expect(p.locale == "de-DE")
        #expect(p.attributes == ["a": 2, "b": "x"])
        #expect(p.attributes.keys == ["a", "b"])
    }

    @Test func deleteThenRecreateStartsEmpty() throws {
        let changes: [CustomerChange] = [
            .created(email: "m@example.com", attributes: ["a": 1, "b": 2], locale: "en-US", at: 100),
            .deleted(at: 150),
            .created(email: nil, attributes: ["c": 3], locale: nil, at: 200),
        ]
        let p = try #require(CustomerProfile.replay(changes, id: "5"))
        #expect(p.attributes == ["c": 3])
        #expect(p.created == 200)
        #expect(p.email == nil)
        #expect(p.locale == nil)
        #expect(CustomerProfile.replay(changes.prefix(2), id: "5") == nil)
    }

    @Test func updateWithoutProfileCreatesOne() throws {
        let p = try #require(
            CustomerProfile.applying(.updated(email: nil, attributes: ["x": true], locale: nil, at: 42), to: nil, id: "7"))
        #expect(p.id == "7")
        #expect(p.created == 42)
        #expect(p.attributes == ["x": true])
    }

    @Test func mutatingApplyReportsDeletion() {
        var p = CustomerProfile(id: "1", attributes: ["a": 1], created: 1, updated: 1)
        let kept = p.apply(.updated(email: nil, attributes: ["b": 2], locale: nil, at: 5))
        #expect(kept)
        #expect(p.attributes == ["a": 1, "b": 2])
        #expect(p.updated == 5)
        let stillThere = p.apply(.deleted(at: 6))
        #expect(!stillThere)
        #expect(p.attributes == ["a": 1, "b": 2])
    }

    @Test func outOfOrderTimestampDoesNotMoveUpdatedBack() throws {
        let p = try #require(
            CustomerProfile.replay(
                [
                    .created(email: nil, attributes: [:], locale: nil, at: 100),
                    .updated(email: nil, attributes: ["a": 1], locale: nil, at: 90),
                ], id: "1"))
        #expect(p.updated == 100)
        #expect(p.attributes == ["a": 1])
    }
}
