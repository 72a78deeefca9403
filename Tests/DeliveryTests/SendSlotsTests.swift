@testable import DeliveryService
import Synchronization
import TestSupport
import Testing

/// Who got a slot, in order.
final class SlotOrder: Sendable {
    let names = Mutex<[Int]>([])
    func append(_ n: Int) { names.withLock { $0.append(n) } }
    var value: [Int] { names.withLock { $0 } }
}

@Suite("Send slots (pure)")
struct SendSlotsTests {
    @Test("a send waits for a free slot, and slots go to waiters in arrival order")
    func slotsAreSharedInOrder() async throws {
        let slots = SendSlots(2)
        await slots.acquire()
        await slots.acquire()
        #expect(slots.available == 0)
        let order = SlotOrder()
        var waiters: [Task<Void, Never>] = []
        for n in 1...2 {
            waiters.append(
                Task {
                    await slots.acquire()
                    order.append(n)
                })
            // The next one arrives only once this one waits.
            #expect(await eventually { slots.waiting == n })
        }
        #expect(order.value.isEmpty)
        slots.release()
        await waiters[0].value
        #expect(order.value == [1])
        slots.release()
        await waiters[1].value
        #expect(order.value == [1, 2])
        #expect(slots.available == 0)
        slots.release()
        slots.release()
        #expect(slots.available == 2 && slots.waiting == 0)
    }
}
