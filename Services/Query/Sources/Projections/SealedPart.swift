import EventStore
import Foundation
import JSON
import Postgres
import Privacy

/// Opens the `sealed` member of an event with the key its metadata names.
struct SealedPart {
    let vault: PersonalDataVault

    /// The personal part of `event`, or nil when it has none or its key was destroyed (an
    /// erased subject: the data is gone for good and must not be projected).
    func open(_ event: RecordedEvent, on connection: PostgresConnection) throws -> JSONObject? {
        guard let sealed = event.data["sealed"]?.stringValue,
            let keyText = event.metadata["key_id"]?.stringValue,
            let keyID = UUID(text: keyText)
        else { return nil }
        return try vault.open(sealed, keyID: keyID, tenant: event.tenant, on: connection)?.objectValue
    }
}

extension JSON {
    /// An integer member value (`occurred_at` and the like), also when sent as a string.
    var int64Value: Int64? {
        switch self {
        case .number(let n): return Int64(n) ?? intValue.map(Int64.init)
        case .string(let s): return Int64(s)
        default: return nil
        }
    }

    /// Text for a clear id member that may be a string or a number.
    var textValue: String? {
        switch self {
        case .string(let s): return s
        case .number(let n): return n
        default: return nil
        }
    }
}
