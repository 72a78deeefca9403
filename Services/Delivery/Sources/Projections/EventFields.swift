import EventStore
import Foundation
import JSON

/// Typed access to the clear members of a recorded event's data and metadata.
extension RecordedEvent {
    func string(_ key: String) -> String? { data[key]?.stringValue }
    func int64(_ key: String) -> Int64? { data[key]?.intValue.map(Int64.init) }
    /// The personal-data key named in the metadata.
    var keyID: UUID? { metadata["key_id"]?.stringValue.flatMap(UUID.init(uuidString:)) }
}

/// The current time in unix milliseconds.
func nowMilliseconds() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }
