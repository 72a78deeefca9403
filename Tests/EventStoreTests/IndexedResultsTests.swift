import Foundation
import Testing
import ThreadSupport

@Suite struct IndexedResultsTests {
    @Test func valuesComeInIndexOrderWhetherSetBeforeOrAfterTheWait() async {
        let results = IndexedResults<String>(known: [nil, "permanent suppressed", nil])
        results.set(2, "sent 250 c")
        async let all = results.all()
        results.set(0, "temporary 421 busy")
        #expect(await all == ["temporary 421 busy", "permanent suppressed", "sent 250 c"])
    }

    @Test func nothingToWaitForIsCompleteAtOnce() async {
        let results = IndexedResults<String>(known: ["permanent erased"])
        #expect(await results.all() == ["permanent erased"])
        #expect(await IndexedResults<String>(count: 0).all().isEmpty)
    }

    @Test func valuesSetOnOtherThreadsAreAllCounted() async {
        let results = IndexedResults<String>(count: 200)
        for i in 0..<200 { Thread { results.set(i, "sent 250 \(i)") }.start() }
        #expect(await results.all() == (0..<200).map { "sent 250 \($0)" })
    }
}
