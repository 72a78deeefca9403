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
