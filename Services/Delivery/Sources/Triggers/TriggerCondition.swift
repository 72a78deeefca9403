import JSON

/// One test a trigger makes before it sends. The JSON form (a trigger's `"conditions"` is an
/// array of these; all must hold):
///
///     {"path": "data.plan", "equals": "gold"}        the event's data member `plan` equals "gold"
///     {"path": "customer.city", "exists": true}      the customer has the attribute `city`
///     {"path": "data.cart.total", "exists": false}   nested members are reached with dots
///
/// `path` starts with `data.` (the tracked event's data) or `customer.` (the customer's merged
/// attributes). `equals` compares JSON values: strings exactly, numbers by value (`1` equals
/// `1.0`), booleans, null; objects and arrays structurally. A missing member never equals anything.
struct TriggerCondition: Sendable, Equatable {
    enum Source: String, Sendable { case data, customer }
    enum Test: Sendable, Equatable {
        case equals(JSON)
        case exists(Bool)
    }

    let source: Source
    let keys: [String]
    let test: Test

    /// Parses one condition; the error message names what is wrong (never user data).
    static func parse(_ value: JSON, index: Int) throws(TriggerValidationError) -> TriggerCondition {
        guard let object = value.objectValue else { throw .invalid("conditions[\(index)] must be an object") }
        guard let path = object["path"]?.stringValue else { throw .invalid("conditions[\(index)].path must be a string") }
        let parts = path.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard parts.count >= 2, let source = Source(rawValue: parts[0]), parts.dropFirst().allSatisfy({ !$0.isEmpty }) else {
            throw .invalid("conditions[\(index)].path must look like data.<name> or customer.<name>")
        }
        let equals = object["equals"]
        let exists = object["exists"]
        for key in object.keys where !["path", "equals", "exists"].contains(key) {
            throw .invalid("conditions[\(index)] has an unknown member (allowed: path, equals, exists)")
        }
        switch (equals, exists) {
        case (let e?, nil): return TriggerCondition(source: source, keys: Array(parts.dropFirst()), test: .equals(e))
        case (nil, let x?):
            guard let flag = x.boolValue else { throw .invalid("conditions[\(index)].exists must be true or false") }
            return TriggerCondition(source: source, keys: Array(parts.dropFirst()), test: .exists(flag))
        default: throw .invalid("conditions[\(index)] needs exactly one of equals, exists")
        }
    }

    /// Parses a `conditions` array (absent or null: no conditions).
    static func parseList(_ value: JSON?) throws(TriggerValidationError) -> [TriggerCondition] {
        guard let value, !value.isNull else { return [] }
        guard let array = value.arrayValue else { throw .invalid("conditions must be an array") }
        var out: [TriggerCondition] = []
        for (i, c) in array.enumerated() { out.append(try parse(c, index: i)) }
        return out
    }

    /// The JSON form (as stored in `trigger.created`).
    var json: JSON {
        var o: JSONObject = ["path": .string(([source.rawValue] + keys).joined(separator: "."))]
        switch test {
        case .equals(let v): o["equals"] = v
        case .exists(let b): o["exists"] = .bool(b)
        }
        return .object(o)
    }

    /// Whether the condition holds for an event's data and a customer's attributes.
    func holds(data: JSONObject, attributes: JSONObject) -> Bool {
        var current: JSON? = .object(source == .data ? data : attributes)
        for key in keys { current = current?.objectValue?[key] }
        switch test {
        case .exists(let wanted): return (current != nil) == wanted
        case .equals(let expected):
            guard let current else { return false }
            return Self.same(current, expected)
        }
    }

    /// Whether every condition holds.
    static func allHold(_ conditions: [TriggerCondition], data: JSONObject, attributes: JSONObject) -> Bool {
        conditions.allSatisfy { $0.holds(data: data, attributes: attributes) }
    }

    static func same(_ a: JSON, _ b: JSON) -> Bool {
        switch (a, b) {
        case (.number(let x), .number(let y)):
            if x == y { return true }
            guard let dx = Double(x), let dy = Double(y) else { return false }
            return dx == dy
        case (.array(let x), .array(let y)):
            return x.count == y.count && zip(x, y).allSatisfy { same($0, $1) }
        case (.object(let x), .object(let y)):
            return x.count == y.count && x.members.allSatisfy { m in y[m.key].map { same(m.value, $0) } ?? false }
        default: return a == b
        }
    }
}

/// A refused trigger or drip request; the message names the field, never its value.
enum TriggerValidationError: Error, Sendable, CustomStringConvertible {
    case invalid(String)
    var description: String {
        switch self {
        case .invalid(let m): return m
        }
    }
}
