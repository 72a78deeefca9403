import EventStore
import Foundation
import Service

extension RequestIdentity {
    /// `eventID(_:salt:)`, except that a request without an idempotency key gets time-ordered
    /// random ids from `RandomUUID` (buffered kernel randomness; appended on the right edge of
    /// the `event_id` index) instead of Foundation's `UUID()`, which opens /dev/urandom on every
    /// call.
    func newEventID(_ index: Int, salt: String = "") -> UUID {
        key == nil ? RandomUUID.makeTimeOrdered() : eventID(index, salt: salt)
    }
}
