import Foundation

/// A parameter sent in PostgreSQL's binary format (the type's `recv` form) instead of text.
public protocol PostgresBinaryEncodable: PostgresEncodable {
    /// The parameter's bytes in binary format; throws `invalidParameter` when it cannot be sent.
    func postgresBinary() throws(PostgresError) -> [UInt8]
}

/// A one-dimensional array parameter in binary format, for the append path's
/// `unnest($1::uuid[], $2::text[], ...)`: the server reads each element with the element type's
/// `recv` function instead of parsing an array literal with `array_in` (which showed as ~22% of
/// PostgreSQL's CPU on batch appends), and the client writes the elements straight into one
/// buffer instead of quoting and escaping a text literal.
///
/// The statement must declare the parameter's exact array type (for example `$1::uuid[]`): the
/// server refuses an array whose element type differs ("wrong element type").
public struct PostgresBinaryArray: PostgresBinaryEncodable {
    /// Element types, by their PostgreSQL type oid.
    public enum ElementType: UInt32, Sendable {
        case bool = 16
        case int8 = 20
        case text = 25
        case json = 114
        case uuid = 2950
    }

    public let elementType: ElementType
    /// Elements appended so far.
    public private(set) var count = 0
    /// Length-prefixed elements (`int32 length` or -1 for NULL, then the bytes).
    private var body: [UInt8] = []
    private var hasNull = false
    /// Whether a text or json element held a NUL byte, which PostgreSQL text cannot store.
    private var containsNUL = false

    /// An empty array of `elementType`; `reservingBytes` sizes the buffer for the elements.
    public init(_ elementType: ElementType, reservingBytes: Int = 0) {
        self.elementType = elementType
        body.reserveCapacity(reservingBytes)
    }

    /// A `uuid[]` of `values`.
    public init(uuids values: some Collection<UUID>) {
        self.init(.uuid, reservingBytes: values.count * 20)
        for v in values { append(v) }
    }

    /// A `text[]` of `values`.
    public init(texts values: some Collection<String>) {
        self.init(.text, reservingBytes: values.reduce(values.count * 4) { $0 + $1.utf8.count })
        for v in values { append(v) }
    }

    /// A `text[]` of `values`, NULL where a value is nil.
    public init(texts values: some Collection<String?>) {
        self.init(.text, reservingBytes: values.reduce(values.count * 4) { $0 + ($1?.utf8.count ?? 0) })
        for v in values {
            if let v { append(v) } else { appendNull() }
        }
    }

    /// A `bool[]` of `values`.
    public init(bools values: some Collection<Bool>) {
        self.init(.bool, reservingBytes: values.count * 5)
        for v in values { append(v) }
    }

    /// A `bigint[]` of `values`.
    public init(int64s values: some Collection<Int64>) {
        self.init(.int8, reservingBytes: values.count * 12)
        for v in values { append(v) }
    }

    private mutating func appendInt32(_ v: Int32) {
        let u = UInt32(bitPattern: v)
        body.append(UInt8(truncatingIfNeeded: u >> 24))
        body.append(UInt8(truncatingIfNeeded: u >> 16))
        body.append(UInt8(truncatingIfNeeded: u >> 8))
        body.append(UInt8(truncatingIfNeeded: u))
    }

    /// Appends SQL NULL.
    public mutating func appendNull() {
        appendInt32(-1)
        hasNull = true
        count += 1
    }

    /// Appends a text or json element from its UTF-8 bytes.
    public mutating func append(utf8 bytes: UnsafeBufferPointer<UInt8>) {
        precondition(elementType == .text || elementType == .json, "UTF-8 element in a \(elementType) array")
        if let base = bytes.baseAddress, memchr(base, 0, bytes.count) != nil { containsNUL = true }
        appendInt32(Int32(bytes.count))
        body.append(contentsOf: bytes)
        count += 1
    }

    /// Appends a text or json element.
    public mutating func append(_ text: String) {
        var text = text
        text.withUTF8 { append(utf8: $0) }
    }

    /// Appends a text or json element from UTF-8 bytes.
    public mutating func append(utf8 bytes: [UInt8]) {
        bytes.withUnsafeBufferPointer { append(utf8: $0) }
    }

    /// Appends a bigint element.
    public mutating func append(_ value: Int64) {
        precondition(elementType == .int8, "bigint element in a \(elementType) array")
        appendInt32(8)
        let u = UInt64(bitPattern: value)
        for shift in stride(from: 56, through: 0, by: -8) { body.append(UInt8(truncatingIfNeeded: u >> UInt64(shift))) }
        count += 1
    }

    /// Appends a uuid element.
    public mutating func append(_ value: UUID) {
        precondition(elementType == .uuid, "uuid element in a \(elementType) array")
        appendInt32(16)
        withUnsafeBytes(of: value.uuid) { body.append(contentsOf: $0) }
        count += 1
    }

    /// Appends a bool element.
    public mutating func append(_ value: Bool) {
        precondition(elementType == .bool, "bool element in a \(elementType) array")
        appendInt32(1)
        body.append(value ? 1 : 0)
        count += 1
    }

    /// The array in `array_recv`'s format: dimensions, null flag, element oid, then the elements.
    public func postgresBinary() throws(PostgresError) -> [UInt8] {
        if containsNUL { throw PostgresError(code: .invalidParameter) }
        var out: [UInt8] = []
        out.reserveCapacity(20 + body.count)
        func int32(_ v: UInt32) {
            out.append(UInt8(truncatingIfNeeded: v >> 24))
            out.append(UInt8(truncatingIfNeeded: v >> 16))
            out.append(UInt8(truncatingIfNeeded: v >> 8))
            out.append(UInt8(truncatingIfNeeded: v))
        }
        if count == 0 {
            int32(0)  // no dimensions: the empty array
            int32(0)
            int32(elementType.rawValue)
            return out
        }
        int32(1)  // one dimension
        int32(hasNull ? 1 : 0)
        int32(elementType.rawValue)
        int32(UInt32(count))
        int32(1)  // lower bound
        out.append(contentsOf: body)
        return out
    }

    /// The elements decoded back to their text forms (for callers that need the text literal).
    var elementTexts: [String?] {
        var out: [String?] = []
        out.reserveCapacity(count)
        body.withUnsafeBufferPointer { b in
            var i = 0
            while i + 4 <= b.count {
                let len = Int32(bitPattern: UInt32(b[i]) << 24 | UInt32(b[i + 1]) << 16 | UInt32(b[i + 2]) << 8 | UInt32(b[i + 3]))
                i += 4
                guard len >= 0 else {
                    out.append(nil)
                    continue
                }
                let e = UnsafeBufferPointer(rebasing: b[i..<(i + Int(len))])
                i += Int(len)
                switch elementType {
                case .text, .json: out.append(String(decoding: e, as: UTF8.self))
                case .bool: out.append(e[0] != 0 ? "t" : "f")
                case .int8: out.append(String(Int64(bitPattern: e.reduce(UInt64(0)) { $0 << 8 | UInt64($1) })))
                case .uuid:
                    var u: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
                    withUnsafeMutableBytes(of: &u) { $0.copyMemory(from: UnsafeRawBufferPointer(e)) }
                    out.append(UUID(uuid: u).postgresText)
                }
            }
        }
        return out
    }

    /// The same array as a text literal (used only where a text parameter is needed).
    public var postgresText: String? { PostgresArray(elementTexts).postgresText }
}
