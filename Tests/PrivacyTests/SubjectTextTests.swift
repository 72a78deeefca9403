import Crypto
@testable import Privacy
import Testing

/// Subject hashes name streams already written: the direct hex writer must give exactly the text
/// the generic `hexString` gave.
@Suite struct SubjectTextTests {
    @Test func subjectTextIsTheFirst16BytesAsLowercaseHex() {
        for seed in 0..<200 {
            let mac = HMACSHA256(key: Array("key\(seed)".utf8)).authenticationCode(for: Array("subject\(seed)".utf8))
            #expect(PersonalDataVault.subjectText(mac) == mac.prefix(16).hexString)
        }
        #expect(PersonalDataVault.subjectText([UInt8](0..<32)) == "000102030405060708090a0b0c0d0e0f")
        #expect(PersonalDataVault.subjectText([UInt8](repeating: 0xAB, count: 32)) == String(repeating: "ab", count: 16))
    }
}
