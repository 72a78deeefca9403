@testable import EventStore
import Foundation
import Testing

@Suite struct UUIDTextTests {
    @Test func lowercaseTextIsFoundationsTextLowercased() {
        for _ in 0..<1_000 {
            let id = UUID()
            #expect(id.lowercaseText == id.uuidString.lowercased())
        }
        let fixed = UUID(uuidString: "00FF10AB-0000-4FFF-8000-ABCDEF012345")!
        #expect(fixed.lowercaseText == "00ff10ab-0000-4fff-8000-abcdef012345")
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
}
