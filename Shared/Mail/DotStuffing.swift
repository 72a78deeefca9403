/// The SMTP DATA transparency procedure (RFC 5321 §4.5.2).
public enum DotStuffing {
    /// The message as DATA content: line breaks normalised to CRLF, a `.` doubled at the start
    /// of every line, a final CRLF ensured, and the terminating `.` CRLF appended.
    public static func dataPayload(_ message: [UInt8]) -> [UInt8] {
        let normalized = MIMEBuilder.normalizedLineBreaks(message)
        var out: [UInt8] = []
        out.reserveCapacity(normalized.count + 64)
        var atLineStart = true
        for byte in normalized {
            if atLineStart, byte == UInt8(ascii: ".") { out.append(byte) }
            out.append(byte)
            atLineStart = byte == 0x0A
        }
        if !out.isEmpty, !atLineStart { out += [0x0D, 0x0A] }
        out += [UInt8(ascii: "."), 0x0D, 0x0A]
        return out
    }
}
