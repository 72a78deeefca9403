/// The SMTP DATA transparency procedure (RFC 5321 §4.5.2).
public enum DotStuffing {
    /// The message as DATA content: line breaks normalised to CRLF, a `.` doubled at the start
    /// of every line, a final CRLF ensured, and the terminating `.` CRLF appended.
    public static func dataPayload(_ message: [UInt8]) -> [UInt8] {
        let normalized = MIMEBuilder.normalizedLineBreaks(message)
        var out: [UInt8] = []
        out.reserveCapacity(normalized.count + 64)
        normalized.withUnsafeBufferPointer { buffer in
            // Copy line by line, doubling a leading dot.
            var start = 0
            let count = buffer.count
            while start < count {
                if buffer[start] == UInt8(ascii: ".") { out.append(UInt8(ascii: ".")) }
                var end = start
                while end < count, buffer[end] != 0x0A { end += 1 }
                end = min(end + 1, count)  // include the LF
                out.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[start..<end]))
                start = end
            }
        }
        if let last = out.last, last != 0x0A { out += [0x0D, 0x0A] }
        out += [UInt8(ascii: "."), 0x0D, 0x0A]
        return out
    }
}
