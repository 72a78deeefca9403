import Domain
import Foundation
import Testing

@Suite struct MessageIdentityTests {
    @Test func textsAreFoundationsTexts() {
        for _ in 0..<1_000 {
            let message = MessageIdentity()
            let dashed = message.uuid.uuidString.lowercased()
            #expect(message.messageID == dashed)
            #expect(message.hex == dashed.replacingOccurrences(of: "-", with: ""))
            #expect(message.logID == "log_" + message.hex)
        }
    }

    @Test func parsesEveryForm() throws {
        let message = try #require(MessageIdentity(parsing: "00ff10ab-0000-4fff-8000-abcdef012345"))
        #expect(message.hex == "00ff10ab00004fff8000abcdef012345")
        for text in [
            "00FF10AB-0000-4FFF-8000-ABCDEF012345", "00ff10ab00004fff8000abcdef012345", "log_00ff10ab00004fff8000abcdef012345",
            "log_00FF10AB00004FFF8000ABCDEF012345", "log_00ff10ab-0000-4fff-8000-abcdef012345",
        ] {
            #expect(MessageIdentity(parsing: text) == message, "\(text)")
        }
        let random = MessageIdentity()
        #expect(MessageIdentity(parsing: random.logID) == random)
        #expect(MessageIdentity(parsing: random.messageID) == random)
    }

    @Test func refusesAnythingElse() {
        for text in [
            "", "log_", "00ff10ab00004fff8000abcdef01234", "00ff10ab00004fff8000abcdef0123456", "00ff10ab00004fff8000abcdef01234g",
            "00ff10ab-0000-4fff-8000abcdef0123450", "00ff10ab+0000-4fff-8000-abcdef012345", "LOG_00ff10ab00004fff8000abcdef012345",
            "00ff10ab00004fff8000abcdef01234\u{E9}", " 00ff10ab00004fff8000abcdef012345",
        ] {
            #expect(MessageIdentity(parsing: text) == nil, "\(text)")
        }
    }
}
