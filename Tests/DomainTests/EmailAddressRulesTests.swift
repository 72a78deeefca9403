@testable import Domain
import Testing

@Suite struct EmailAddressRulesShortcutTests {
    /// The one-pass ASCII shortcut accepts exactly the ASCII addresses the full check accepts.
    @Test func theShortcutAgreesWithTheFullCheckOnGeneratedAddresses() {
        let pieces = ["a", "Z", "0", "9", ".", "-", "@", "_", "+", "\"", "(", " ", "\u{7F}", "..", "-.", ".-", "é", "x.y",
                      "co", "c", String(repeating: "l", count: 63), String(repeating: "m", count: 64)]
        var generator = SystemRandomNumberGenerator()
        var accepted = 0
        for _ in 0..<50_000 {
            var text = ""
            for _ in 0..<Int.random(in: 0...9, using: &generator) { text += pieces.randomElement(using: &generator)! }
            if Bool.random(using: &generator) { text = "user" + text + "@example.com" }
            let full = EmailAddressRules.fullCheck(text) == nil
            if text.utf8.allSatisfy({ $0 < 0x80 }) {
                #expect(EmailAddressRules.isAcceptableASCII(text) == full, "\(text.debugDescription)")
            } else {
                #expect(!EmailAddressRules.isAcceptableASCII(text))
            }
            #expect(EmailAddressRules.problem(with: text) == EmailAddressRules.fullCheck(text))
            if full { accepted += 1 }
        }
        #expect(accepted > 1_000)  // the generator reaches both sides
    }

    @Test func edgesOfTheRules() {
        let ok = ["a@b.co", "first.last+tag@sub.example.org", "x@a-b.c-d.io", String(repeating: "l", count: 64) + "@e.io",
                  "u@" + String(repeating: "d", count: 63) + ".io"]
        let bad = ["", "a@b", "a@b.c", ".a@b.co", "a.@b.co", "a..b@b.co", "a@-b.co", "a@b-.co", "a@b..co", "a@b.co.",
                   "a@@b.co", "a b@c.io", "a\"b@c.io", String(repeating: "l", count: 65) + "@e.io",
                   "u@" + String(repeating: "d", count: 64) + ".io", "a@b_c.io"]
        for a in ok { #expect(EmailAddressRules.isAcceptableASCII(a) && EmailAddressRules.fullCheck(a) == nil, "\(a)") }
        for a in bad { #expect(!EmailAddressRules.isAcceptableASCII(a) && EmailAddressRules.fullCheck(a) != nil, "\(a)") }
    }
}
