@testable import EventStore
import Foundation
import Testing

@Suite struct UUIDTextTests {
    @Test func lowercaseTextIsFoundationsTextLowercased() {
        for _ in 0..<1_000 {
            let id = UUID()
            #expect(id.lowercaseText == id.uuidString.lowercased())
            var appended: [UInt8] = [0x7B]
            id.appendLowercaseText(to: &appended)
            #expect(appended == [0x7B] + Array(id.lowercaseText.utf8))
        }
        let fixed = UUID(uuidString: "00FF10AB-0000-4FFF-8000-ABCDEF012345")!
        #expect(fixed.lowercaseText == "00ff10ab-0000-4fff-8000-abcdef012345")
        #expect(fixed.isSpelled("00ff10ab-0000-4fff-8000-abcdef012345"))
        #expect(!fixed.isSpelled("00FF10AB-0000-4FFF-8000-ABCDEF012345"))
        #expect(!fixed.isSpelled("00ff10ab-0000-4fff-8000-abcdef012346"))
        #expect(!fixed.isSpelled("00ff10ab00000-4fff-8000-abcdef012345"))
        #expect(!fixed.isSpelled("00ff10ab-0000-4fff-8000-abcdef01234"))
    }
}

@Suite struct RandomUUIDTests {
    @Test func randomUUIDsAreVersion4AndDistinct() {
        var seen = Set<UUID>()
        for _ in 0..<5_000 {  // more than one 4 KiB refill
            let id = RandomUUID.make()
            #expect(id.uuid.6 >> 4 == 4)
            #expect(id.uuid.8 >> 6 == 0b10)
            seen.insert(id)
        }
        #expect(seen.count == 5_000)
    }

    @Test func timeOrderedUUIDsAreVersion7IncreasingAndDistinct() {
        var previous = RandomUUID.makeTimeOrdered()
        let now = UInt64(Date().timeIntervalSince1970 * 1000)
        let ms = withUnsafeBytes(of: previous.uuid) { b in (0..<6).reduce(UInt64(0)) { $0 << 8 | UInt64(b[$1]) } }
        #expect(ms + 1_000 > now && ms < now + 1_000)
        for _ in 0..<10_000 {  // more than 4,096 in one millisecond, likely
            let id = RandomUUID.makeTimeOrdered()
            #expect(id.uuid.6 >> 4 == 7)
            #expect(id.uuid.8 >> 6 == 0b10)
            // Byte-wise (as PostgreSQL orders uuid), each id follows the previous one.
            #expect(id.lowercaseText > previous.lowercaseText)
            previous = id
        }
    }
}
