import Foundation
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

    /// The eight-bytes-at-a-time scan escapes exactly what a byte-by-byte one does, wherever the
    /// special bytes fall.
    @Test func writtenStringsMatchAByteByByteEscaper() throws {
        func reference(_ s: String) -> [UInt8] {
            var out: [UInt8] = [0x22]
            for b in s.utf8 {
                switch b {
                case 0x22: out += [0x5C, 0x22]
                case 0x5C: out += [0x5C, 0x5C]
                case 0x0A: out += [0x5C, 0x6E]
                case 0x0D: out += [0x5C, 0x72]
                case 0x09: out += [0x5C, 0x74]
                case 0..<0x20, 0x7F: out += Array(String(format: "\\u%04x", b).utf8)
                default: out.append(b)
                }
            }
            return out + [0x22]
        }
        let alphabet: [String] = ["a", "Z", "0", "\"", "\\", "\n", "\t", "\u{01}", "\u{1F}", "\u{7F}", " ", "~", "é", "€", "😀", "\u{00}"]
        var generator = SystemRandomNumberGenerator()
        for length in 0..<40 {
            for _ in 0..<20 {
                let s = (0..<length).map { _ in alphabet.randomElement(using: &generator)! }.joined()
                var out: [UInt8] = []
                JSON.writeString(s, into: &out)
                #expect(out == reference(s), "\(Array(s.utf8))")
                #expect(try JSON.parse(out) == .string(s))
            }
        }
    }

    @Test func keepsKeyOrderAndLastDuplicateWins() throws {
        let v = try JSON.parse(#"{"b":1,"a":2,"b":3}"#)
        #expect(v.objectValue?.keys == ["b", "a"])
        #expect(v["b"] == .number("3"))
        // Past the linear-scan limit too, and without any repeat.
        let many = "{" + (0..<20).map { "\"k\($0)\":\($0)" }.joined(separator: ",") + ",\"k3\":99}"
        let w = try JSON.parse(many)
        #expect(w.objectValue?.count == 20 && w["k3"] == .number("99") && w.objectValue?.keys.first == "k0")
        let unique = try JSON.parse("{" + (0..<20).map { "\"k\($0)\":\($0)" }.joined(separator: ",") + "}")
        #expect(unique.objectValue?.keys == (0..<20).map { "k\($0)" })
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
