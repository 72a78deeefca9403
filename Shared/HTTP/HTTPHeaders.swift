/// An ordered list of HTTP header fields with case-insensitive name lookup.
///
/// Names keep the spelling they were received or set with; lookups ignore ASCII case.
public struct HTTPHeaders: Sendable, Sequence, ExpressibleByDictionaryLiteral {
    /// The fields in order, duplicates included.
    public private(set) var fields: [(name: String, value: String)]

    public init() { fields = [] }
    public init(_ fields: [(String, String)]) { self.fields = fields.map { (name: $0.0, value: $0.1) } }
    public init(dictionaryLiteral elements: (String, String)...) { self.init(elements) }

    public var count: Int { fields.count }
    public var isEmpty: Bool { fields.isEmpty }

    /// The first value of the field named `name` (any case); setting replaces every field of that name.
    public subscript(name: String) -> String? {
        get {
            for f in fields where HTTPHeaders.namesEqual(f.name, name) { return f.value }
            return nil
        }
        set {
            remove(name)
            if let newValue { fields.append((name: name, value: newValue)) }
        }
    }

    /// Every value of the field named `name`, in order.
    public func values(for name: String) -> [String] {
        fields.filter { HTTPHeaders.namesEqual($0.name, name) }.map(\.value)
    }

    /// Whether a field named `name` is present.
    public func contains(_ name: String) -> Bool { self[name] != nil }

    /// Appends a field, keeping any existing ones of the same name.
    public mutating func add(_ name: String, _ value: String) { fields.append((name: name, value: value)) }

    /// Removes every field named `name`.
    public mutating func remove(_ name: String) { fields.removeAll { HTTPHeaders.namesEqual($0.name, name) } }

    public func makeIterator() -> IndexingIterator<[(name: String, value: String)]> { fields.makeIterator() }

    /// ASCII case-insensitive comparison of two field names.
    static func namesEqual(_ a: String, _ b: String) -> Bool {
        var ai = a.utf8.makeIterator()
        var bi = b.utf8.makeIterator()
        while true {
            let x = ai.next()
            let y = bi.next()
            guard let x, let y else { return x == nil && y == nil }
            if x != y && asciiLower(x) != asciiLower(y) { return false }
        }
    }
}

@inline(__always) func asciiLower(_ b: UInt8) -> UInt8 { (b >= 0x41 && b <= 0x5A) ? b | 0x20 : b }

/// Whether `bytes` equals the lowercase ASCII `lower`, ignoring case.
func asciiCaseInsensitiveEquals(_ bytes: some Collection<UInt8>, _ lower: StaticString) -> Bool {
    guard bytes.count == lower.utf8CodeUnitCount else { return false }
    let p = lower.utf8Start
    var i = 0
    for b in bytes {
        if asciiLower(b) != p[i] { return false }
        i += 1
    }
    return true
}
