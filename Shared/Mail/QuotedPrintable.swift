/// Quoted-printable content transfer encoding (RFC 2045 §6.7) for bodies.
public enum QuotedPrintable {
    /// The longest encoded line, excluding CRLF (RFC 2045: 76).
    public static let maxLineLength = 76

    /// Encodes text whose line breaks are CRLF. Line breaks stay hard CRLF breaks; long lines
    /// get soft breaks (`=` CRLF) so no output line exceeds 76 characters; trailing space or tab
    /// before a break is encoded.
    public static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + bytes.count / 8)
        var lines: [ArraySlice<UInt8>] = []
        var start = 0
        var i = 0
        while i < bytes.count {
            if bytes[i] == 0x0D, i + 1 < bytes.count, bytes[i + 1] == 0x0A {
                lines.append(bytes[start..<i])
                i += 2
                start = i
            } else {
                i += 1
            }
        }
        lines.append(bytes[start..<bytes.count])
        for (index, line) in lines.enumerated() {
            if index > 0 { out += [0x0D, 0x0A] }
            encodeLine(line, into: &out)
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static let hex = Array("0123456789ABCDEF".utf8)

    private static func encodeLine(_ line: ArraySlice<UInt8>, into out: inout [UInt8]) {
        var column = 0
        let last = line.endIndex - 1
        for index in line.indices {
            let byte = line[index]
            let literal: Bool
            if byte == 0x20 || byte == 0x09 {
                literal = index != last  // whitespace at the end of a line must be encoded
            } else {
                literal = byte >= 33 && byte <= 126 && byte != UInt8(ascii: "=")
            }
            let width = literal ? 1 : 3
            // Leave room for the soft break "=" unless this is the line's last byte.
            let limit = index == last ? maxLineLength : maxLineLength - 1
            if column + width > limit {
                out += [UInt8(ascii: "="), 0x0D, 0x0A]
                column = 0
            }
            if literal {
                out.append(byte)
            } else {
                out += [UInt8(ascii: "="), hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]]
            }
            column += width
        }
    }
}
