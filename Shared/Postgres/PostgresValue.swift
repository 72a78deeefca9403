import Foundation
import UUIDText

/// A value that can be sent as a query parameter in PostgreSQL's text format.
public protocol PostgresEncodable: Sendable {
    /// The parameter's text form, or nil for SQL NULL.
    var postgresText: String? { get }
}

extension String: PostgresEncodable {
    public var postgresText: String? { self }
}
extension Int: PostgresEncodable {
    public var postgresText: String? { String(self) }
}
extension Int64: PostgresEncodable {
    public var postgresText: String? { String(self) }
}
extension Int32: PostgresEncodable {
    public var postgresText: String? { String(self) }
}
extension Double: PostgresEncodable {
    public var postgresText: String? { String(self) }
}
extension Bool: PostgresEncodable {
    public var postgresText: String? { self ? "t" : "f" }
}
extension UUID: PostgresEncodable {
    public var postgresText: String? { lowercaseText }
}
extension Optional: PostgresEncodable where Wrapped: PostgresEncodable {
    public var postgresText: String? {
        switch self {
        case .none: return nil
        case .some(let w): return w.postgresText
        }
    }
}

/// Bytes sent as a `bytea` parameter (hex text form).
public struct PostgresBytes: PostgresEncodable {
    public let bytes: [UInt8]
    public init(_ bytes: [UInt8]) { self.bytes = bytes }
    public var postgresText: String? {
        let hex: [UInt8] = Array("0123456789abcdef".utf8)
        var out: [UInt8] = [UInt8(ascii: "\\"), UInt8(ascii: "x")]
        out.reserveCapacity(2 + bytes.count * 2)
        for b in bytes {
            out.append(hex[Int(b >> 4)])
            out.append(hex[Int(b & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes a `bytea` column in hex output format (`\x...`).
    public static func decode(_ text: String) -> [UInt8]? {
        var utf8 = Array(text.utf8)
        guard utf8.count >= 2, utf8[0] == UInt8(ascii: "\\"), utf8[1] == UInt8(ascii: "x") else { return nil }
        utf8.removeFirst(2)
        guard utf8.count % 2 == 0 else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(utf8.count / 2)
        var i = 0
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case 0x30...0x39: return c - 0x30
            case 0x61...0x66: return c - 0x61 + 10
            case 0x41...0x46: return c - 0x41 + 10
            default: return nil
            }
        }
        while i < utf8.count {
            guard let h = nibble(utf8[i]), let l = nibble(utf8[i + 1]) else { return nil }
            out.append(h << 4 | l)
            i += 2
        }
        return out
    }
}

/// A one-dimensional array parameter (for `unnest($1::text[])` and `= ANY($1)`), encoded as an
/// array literal in which every element is quoted and escaped, so any text is safe.
public struct PostgresArray: PostgresEncodable {
    public let elements: [String?]
    public init(_ elements: [String?]) { self.elements = elements }
    // A closure, not a key path: a generic key path is instantiated at run time on every call.
    public init(_ elements: [some PostgresEncodable]) { self.elements = elements.map { $0.postgresText } }

    public var postgresText: String? {
        var out: [UInt8] = [UInt8(ascii: "{")]
        var capacity = 2
        for e in elements { capacity += (e?.utf8.count ?? 4) + 3 }
        out.reserveCapacity(capacity)
        for (i, e) in elements.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            guard var e else {
                out.append(contentsOf: "NULL".utf8)
                continue
            }
            out.append(UInt8(ascii: "\""))
            e.withUTF8 { Self.appendEscaped($0, to: &out) }
            out.append(UInt8(ascii: "\""))
        }
        out.append(UInt8(ascii: "}"))
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends `bytes` with `"` and `\` escaped, copying the runs between them in bulk.
    static func appendEscaped(_ bytes: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
        var runStart = 0
        for (i, b) in bytes.enumerated() where b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") {
            out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<i]))
            out.append(UInt8(ascii: "\\"))
            runStart = i
        }
        out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart...]))
    }
}
