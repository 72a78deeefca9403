/// A JSON value that keeps what clients sent: object keys in their order and numbers as their
/// literal text, so `23.45` stays the number `23.45` and `"23.45"` stays a string.
public enum JSON: Sendable, Hashable {
    case null
    case bool(Bool)
    /// A number, kept as its validated JSON literal (for example `-1`, `23.45`, `1e3`).
    case number(String)
    case string(String)
    case array([JSON])
    case object(JSONObject)

    /// A number from an integer.
    public static func int(_ value: Int) -> JSON { .number(String(value)) }
    /// A number from a 64-bit integer.
    public static func int64(_ value: Int64) -> JSON { .number(String(value)) }
    /// A number from a double; non-finite values become `null`.
    public static func double(_ value: Double) -> JSON {
        guard value.isFinite else { return .null }
        if value == value.rounded(), abs(value) < 1e15 { return .number(String(Int64(value))) }
        return .number(String(value))
    }

    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }
    public var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }
    public var numberText: String? {
        if case .number(let n) = self { return n }
        return nil
    }
    /// The number as an integer when it is one exactly (no fraction, no exponent overflow).
    public var intValue: Int? {
        guard case .number(let n) = self else { return nil }
        if let i = Int(n) { return i }
        if let d = Double(n), d == d.rounded(), abs(d) < 9.0e15 { return Int(d) }
        return nil
    }
    public var doubleValue: Double? {
        guard case .number(let n) = self else { return nil }
        return Double(n)
    }
    public var arrayValue: [JSON]? {
        if case .array(let a) = self { return a }
        return nil
    }
    public var objectValue: JSONObject? {
        if case .object(let o) = self { return o }
        return nil
    }
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }
    /// Whether the value is a string, number, boolean or null (not an array or object).
    public var isScalar: Bool {
        switch self {
        case .array, .object: return false
        default: return true
        }
    }

    /// The member named `key` when this is an object.
    public subscript(key: String) -> JSON? {
        guard case .object(let o) = self else { return nil }
        return o[key]
    }
}

/// A JSON object: an ordered list of members with unique keys (the last duplicate wins when
/// parsing). Lookup is linear, which beats hashing for the small objects an API sees.
public struct JSONObject: Sendable, Hashable, Sequence, ExpressibleByDictionaryLiteral {
    public private(set) var members: [(key: String, value: JSON)]

    public init() { members = [] }
    /// Builds an object from `members` in order; for a repeated key the last value wins (at the
    /// first occurrence's position). Linear time even for many keys.
    public init(_ members: [(String, JSON)]) {
        self.members = []
        self.members.reserveCapacity(members.count)
        if members.count <= JSONObject.linearLimit {
            for (k, v) in members { self[k] = v }
            return
        }
        // A hash index keeps a hostile body with 100,000 keys from costing n² comparisons.
        var index: [String: Int] = [:]
        index.reserveCapacity(members.count)
        for (k, v) in members {
            if let i = index[k] {
                self.members[i].value = v
            } else {
                index[k] = self.members.count
                self.members.append((k, v))
            }
        }
    }

    /// Adopts `members` as they are when no key repeats (what a parser collected, without
    /// copying it); otherwise as `init(_:)` (the last value of a repeated key wins).
    init(parsed members: [(key: String, value: JSON)]) {
        var unique = true
        if members.count <= JSONObject.linearLimit {
            outer: for i in members.indices {
                for j in members.indices where j > i && members[j].key == members[i].key {
                    unique = false
                    break outer
                }
            }
        } else {
            var seen = Set<String>(minimumCapacity: members.count)
            for m in members where !seen.insert(m.key).inserted {
                unique = false
                break
            }
        }
        if unique {
            self.members = members
        } else {
            self = JSONObject(members.map { ($0.key, $0.value) })
        }
    }

    /// Up to this many members, linear scans beat building a hash index.
    static let linearLimit = 16
    public init(dictionaryLiteral elements: (String, JSON)...) { self.init(elements) }

    public var count: Int { members.count }
    public var isEmpty: Bool { members.isEmpty }
    public var keys: [String] { members.map(\.key) }

    public subscript(key: String) -> JSON? {
        get {
            for m in members where m.key == key { return m.value }
            return nil
        }
        set {
            if let i = members.firstIndex(where: { $0.key == key }) {
                if let newValue { members[i].value = newValue } else { members.remove(at: i) }
            } else if let newValue {
                members.append((key, newValue))
            }
        }
    }

    public func makeIterator() -> IndexingIterator<[(key: String, value: JSON)]> { members.makeIterator() }

    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        guard lhs.members.count == rhs.members.count else { return false }
        if lhs.members.count <= linearLimit {
            for (k, v) in lhs.members where rhs[k] != v { return false }
            return true
        }
        var index: [String: JSON] = [:]
        index.reserveCapacity(rhs.members.count)
        for (k, v) in rhs.members { index[k] = v }
        for (k, v) in lhs.members where index[k] != v { return false }
        return true
    }
    public func hash(into hasher: inout Hasher) {
        // Order-independent, consistent with ==.
        var acc = 0
        for (k, v) in members {
            var h = Hasher()
            h.combine(k)
            h.combine(v)
            acc ^= h.finalize()
        }
        hasher.combine(members.count)
        hasher.combine(acc)
    }
}

extension JSON: ExpressibleByStringLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(integerLiteral value: Int) { self = .number(String(value)) }
    public init(arrayLiteral elements: JSON...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSON)...) { self = .object(JSONObject(elements)) }
    public init(nilLiteral: ()) { self = .null }
}
