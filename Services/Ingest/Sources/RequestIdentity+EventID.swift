import EventStore
import Foundation
import Service

extension RequestIdentity {
    /// `eventID(_:salt:)`, except that a request without an idempotency key gets its random ids
    /// from `RandomUUID` (buffered kernel randomness) instead of Foundation's `UUID()`, which
    /// opens /dev/urandom on every call.
    func newEventID(_ index: Int, salt: String = "") -> UUID {
        key == nil ? RandomUUID.make() : eventID(index, salt: salt)
    }
}
