import Domain
import JSON

/// One operation of customer.io Track v2 (`/api/v2/batch`, `/api/v2/entity`) for people.
enum BatchOperation: Sendable, Equatable {
    case identify(CustomerUpsert)
    case event(TrackedEvent)
    case delete(customerID: String)

    var customerID: String {
        switch self {
        case .identify(let u): return u.id
        case .event(let e): return e.customerID
        case .delete(let id): return id
        }
    }
}

/// Parsing of Track v2 bodies: strict (unknown fields are errors), with every operation's error
/// reported by index.
enum BatchCommands {
    static let maximumOperations = 1_000
    static let allowedFields: Set<String> = ["type", "identifiers", "action", "attributes", "name", "timestamp", "id"]

    /// `{"batch": [op, ...]}` → operations, or the list of per-operation errors.
    static func parseBatch(_ body: JSON) throws(IngestValidationError) -> (operations: [BatchOperation], errors: [(Int, String)]) {
        guard let object = body.objectValue else { throw IngestValidationError("body must be a JSON object") }
        for key in object.keys where key != "batch" { throw IngestValidationError("unknown field \(key)") }
        guard let items = object["batch"]?.arrayValue else { throw IngestValidationError("batch must be an array") }
        guard !items.isEmpty else { throw IngestValidationError("batch must not be empty") }
        guard items.count <= maximumOperations else {
            throw IngestValidationError("batch holds more than \(maximumOperations) operations")
        }
        var ops: [BatchOperation] = []
        var errors: [(Int, String)] = []
        for (i, item) in items.enumerated() {
            do { ops.append(try parseOperation(item)) } catch { errors.append((i, error.description)) }
        }
        return (ops, errors)
    }

    static func parseOperation(_ item: JSON) throws(IngestValidationError) -> BatchOperation {
        guard let op = item.objectValue else { throw IngestValidationError("operation must be an object") }
        for (key, _) in op where !allowedFields.contains(key) { throw IngestValidationError("unknown field \(key)") }
        guard op["type"]?.stringValue == "person" else { throw IngestValidationError("type must be person") }
        guard let identifiers = op["identifiers"]?.objectValue else { throw IngestValidationError("identifiers.id is required") }
        for (key, _) in identifiers where key != "id" && key != "email" {
            throw IngestValidationError("unknown identifier \(key)")
        }
        guard let idValue = identifiers["id"], let id = idValue.stringValue ?? idValue.numberText else {
            throw IngestValidationError("identifiers.id is required")
        }
        guard let action = op["action"]?.stringValue else { throw IngestValidationError("action is required") }
        switch action {
        case "identify":
            var attributes = op["attributes"] ?? .object([:])
            if let email = identifiers["email"], var a = attributes.objectValue, a["email"] == nil {
                a["email"] = email
                attributes = .object(a)
            }
            if let t = op["timestamp"], var a = attributes.objectValue, a["created_at"] == nil {
                a["created_at"] = t
                attributes = .object(a)
            }
            return .identify(try CustomerCommands.customerIOUpsert(id: id, body: attributes))
        case "event":
            var body: JSONObject = [:]
            body["name"] = op["name"]
            body["data"] = op["attributes"]
            body["timestamp"] = op["timestamp"]
            body["id"] = op["id"]
            return .event(try CustomerCommands.trackedEvent(customerID: id, body: .object(body)))
        case "delete":
            return .delete(customerID: try CustomerCommands.validatedID(id))
        default:
            throw IngestValidationError("action must be identify, event or delete")
        }
    }
}
