import Testing

@testable import Crypto

@Suite struct HMACSHA256Tests {
    // RFC 4231 test case 1.
    let key1 = [UInt8](repeating: 0x0b, count: 20)
    let message1 = Array("Hi There".utf8)
    let expected1 = "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
    // RFC 4231 test case 2.
    let key2 = Array("Jefe".utf8)
    let message2 = Array("what do ya want for nothing?".utf8)
    let expected2 = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"

    @Test func oneShotKnownAnswers() {
        #expect(HMACSHA256.authenticationCode(key: key1, message: message1).hexString == expected1)
        #expect(HMACSHA256.authenticationCode(key: key2, message: message2).hexString == expected2)
    }

    @Test func rfc4231LongKeyIsHashedFirst() {
        // RFC 4231 test case 6: 131-byte key, longer than the block size.
        let key = [UInt8](repeating: 0xaa, count: 131)
        let message = Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8)
        #expect(
            HMACSHA256.authenticationCode(key: key, message: message).hexString
                == "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")
    }

    @Test func batchOfStringsMatchesOneByOne() {
        let mac = HMACSHA256(key: key2)
        let messages = ["what do ya want for nothing?", "", "é ✓", String(repeating: "x", count: 300)]
        #expect(mac.authenticationCodes(forUTF8: messages) == messages.map { mac.authenticationCode(for: Array($0.utf8)) })
        #expect(mac.authenticationCodes(forUTF8: [messages[0]])[0].hexString == expected2)
        #expect(mac.authenticationCodes(forUTF8: []).isEmpty)
    }

    @Test func reusableKeyGivesSameAnswerOnEveryCall() {
        let mac = HMACSHA256(key: key2)
        for _ in 0..<3 {
            #expect(mac.authenticationCode(for: message2).hexString == expected2)
        }
        #expect(mac.authenticationCode(for: message1) == HMACSHA256.authenticationCode(key: key2, message: message1))
        #expect(mac.authenticationCode(for: "abc".utf8) == HMACSHA256.authenticationCode(key: key2, message: Array("abc".utf8)))
    }

    @Test func emptyKeyAndEmptyMessage() {
        // Independently known: HMAC-SHA256 with empty key and empty message.
        let expected = "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad"
        #expect(HMACSHA256.authenticationCode(key: [], message: [UInt8]()).hexString == expected)
        #expect(HMACSHA256(key: []).authenticationCode(for: [UInt8]()).hexString == expected)
    }

    @Test func reusableKeyIsSafeAcrossConcurrentTasks() async {
        let mac = HMACSHA256(key: key1)
        let results = await withTaskGroup(of: Bool.self) { group in
            for i in 0..<8 {
                group.addTask {
                    (0..<200).allSatisfy { j in
                        let message = Array("customer-\(i)-\(j)".utf8)
                        return mac.authenticationCode(for: message)
                            == HMACSHA256.authenticationCode(key: [UInt8](repeating: 0x0b, count: 20), message: message)
                    }
                }
            }
            return await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(results.count == 8)
        #expect(results.allSatisfy { $0 })
    }
}
