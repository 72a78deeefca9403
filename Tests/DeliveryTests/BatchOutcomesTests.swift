@testable import DeliveryService
import Foundation
import Mail
import Testing

@Suite struct BatchOutcomesTests {
    private func reason(_ o: SendOutcome) -> String {
        switch o {
        case .accepted(let reply): "sent " + reply
        case .temporary(let reason): "temporary " + reason
        case .permanent(let reason): "permanent " + reason
        }
    }

    @Test func outcomesComeInBatchOrderWhetherSetBeforeOrAfterTheWait() async {
        let outcomes = BatchOutcomes([nil, .permanent(reason: "suppressed"), nil])
        outcomes.set(2, .accepted(providerReply: "250 c"))
        async let all = outcomes.all()
        outcomes.set(0, .temporary(reason: "421 busy"))
        #expect(await all.map(reason) == ["temporary 421 busy", "permanent suppressed", "sent 250 c"])
    }

    @Test func aBatchWithNothingToSendIsCompleteAtOnce() async {
        let outcomes = BatchOutcomes([.permanent(reason: "erased")])
        #expect(await outcomes.all().map(reason) == ["permanent erased"])
    }

    @Test func sendsCompletingOnOtherThreadsAreAllCounted() async {
        let outcomes = BatchOutcomes(Array(repeating: nil, count: 200))
        for i in 0..<200 { Thread { outcomes.set(i, .accepted(providerReply: "250 \(i)")) }.start() }
        #expect(await outcomes.all().map(reason) == (0..<200).map { "sent 250 \($0)" })
    }
}
