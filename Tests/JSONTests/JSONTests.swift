import JSON
import Testing

@Suite struct JSONParsingTests {
    @Test func keepsNumberLiteralsAndStringsApart() throws {
        let v = try JSON.parse(#"{"price": 23.45, "text": "23.45", "n": -1e3, "ok": true, "none": null}"#)
        #expect(v["price"] == .number("23.45"))
        #expect(v["text"] == .string("23.45"))
        #expect(v["n"] == .number("-1e3"))
        #expect(v["ok"] == .bool(true))
        #expect(v["none"] == .null)
    }

    @Test func noticesNULInStringsAndMemberNames() throws {
        #expect(try JSON.parseNoticingNUL(Array(#"{"a": ["x\u0000y"]}"#.utf8)).containsNUL)
        #expect(try JSON.parseNoticingNUL(Array(#"{"a\u0000": 1}"#.utf8)).containsNUL)
        let clean = try JSON.parseNoticingNUL(Array(#"{"a": "\u0001\u00e9", "b": "\\u0000"}"#.utf8))
        #expect(!clean.containsNUL)
        #expect(clean.value["b"] == "\\u0000")
    }

    @Test func keepsKeyOrderAndLastDuplicateWins() throws {
        let v = try JSON.parse(#"{"b":1,"a":2,"b":3}"#)
        #expect(v.objectValue?.keys == ["b", "a"])
        #expect(v["b"] == .number("3"))
    }

    @Test func decodesEscapesAndSurrogatePairs() throws {
        let v = try JSON.parse(#"["a\"b\\c\/d\n", "\u00e9\ud83d\ude00"]"#)
        #expect(v.arrayValue?[0] == .string("a\"b\\c/d\n"))
        #expect(v.arrayValue?[1] == .string("é😀"))
    }

    @Test(arguments: [
        "", "{", "[1,]", "{\"a\":}", "01", "1.", "-", "1e", "\"abc", "tru", "{\"a\" 1}", "[1 2]",
        "\"\\x\"", "\"\\ud800\"", "\"a\u{01}b\"", "1 2", "{'a':1}", "NaN", "[1]]",
    ])
    func rejectsMalformed(_ text: String) {
        #expect(throws: JSONParseError.self) { try JSON.parse(text) }
    }

    @Test func rejectsInvalidUTF8() {
        let bytes: [UInt8] = [0x22, 0xC3, 0x28, 0x22]
        #expect(throws: JSONParseError.self) { try JSON.parse(bytes) }
    }

    @Test func rejectsTooDeep() {
        let deep = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect(throws: JSONParseError(reason: .tooDeep, offset: JSON.maximumDepth)) { try JSON.parse(deep) }
        let ok = String(repeating: "[", count: 10) + String(repeating: "]", count: 10)
        #expect((try? JSON.parse(ok)) != nil)
    }

    @Test func roundTrips() throws {
        let text = #"{"a":[1,2.5,"x\"y",true,false,null],"b":{"c":"\u0001é"}}"#
        let v = try JSON.parse(text)
        #expect(try JSON.parse(v.text) == v)
        #expect(JSON.string("\u{01}").text == #""\u0001""#)
    }
}
