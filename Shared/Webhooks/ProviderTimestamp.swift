/// Provider time formats to unix milliseconds, without Foundation's formatters or a clock.
public enum ProviderTimestamp {
    /// Parses ISO 8601 / RFC 3339 date-times as providers send them:
    /// `2016-01-27T14:59:38.237Z` (SES, SNS), `2019-11-05T16:33:54.9070259Z` and
    /// `2014-08-01T13:28:10.2735393-04:00` (Postmark). Any number of fraction digits (truncated
    /// to milliseconds); `Z` or a `±HH:MM` / `±HHMM` offset is required. Nil if invalid.
    public static func milliseconds(iso8601 text: String) -> Int64? {
        let b = Array(text.utf8)
        var i = 0
        func number(_ count: Int) -> Int? {
            guard i + count <= b.count else { return nil }
            var value = 0
            for k in i..<(i + count) {
                let c = b[k]
                guard c >= 48, c <= 57 else { return nil }
                value = value * 10 + Int(c - 48)
            }
            i += count
            return value
        }
        func expect(_ chars: String) -> Bool {
            guard i < b.count, chars.utf8.contains(b[i]) else { return false }
            i += 1
            return true
        }
        guard let year = number(4), expect("-"), let month = number(2), expect("-"), let day = number(2),
            expect("Tt "), let hour = number(2), expect(":"), let minute = number(2), expect(":"),
            let second = number(2)
        else { return nil }
        guard (1...12).contains(month), day >= 1, day <= daysInMonth(year: year, month: month),
            hour <= 23, minute <= 59, second <= 60
        else { return nil }
        var millis = 0
        if i < b.count, b[i] == UInt8(ascii: ".") || b[i] == UInt8(ascii: ",") {
            i += 1
            var digits = 0
            while i < b.count, b[i] >= 48, b[i] <= 57 {
                if digits < 3 { millis = millis * 10 + Int(b[i] - 48) }
                digits += 1
                i += 1
            }
            guard digits > 0 else { return nil }
            for _ in min(digits, 3)..<3 { millis *= 10 }
        }
        var offsetMinutes = 0
        guard i < b.count else { return nil }
        if b[i] == UInt8(ascii: "Z") || b[i] == UInt8(ascii: "z") {
            i += 1
        } else if b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") {
            let sign = b[i] == UInt8(ascii: "-") ? -1 : 1
            i += 1
            guard let oh = number(2) else { return nil }
            if i < b.count, b[i] == UInt8(ascii: ":") { i += 1 }
            guard let om = number(2), oh <= 23, om <= 59 else { return nil }
            offsetMinutes = sign * (oh * 60 + om)
        } else {
            return nil
        }
        guard i == b.count else { return nil }
        let days = daysFromCivil(year: year, month: month, day: day)
        let seconds = days * 86_400 + Int64(hour * 3600 + minute * 60 + second) - Int64(offsetMinutes * 60)
        return seconds * 1000 + Int64(millis)
    }

    /// Parses unix seconds as a JSON number literal or numeric string (`1513299569`,
    /// `1521472262.908181`) into milliseconds (fraction truncated). Nil if not a plain number.
    ///
    /// A whole number of seconds (SendGrid's `timestamp`) stands for the LAST millisecond of that
    /// second: the provider only says "during this second", and our own events carry
    /// milliseconds, so a `delivered` reported for the second in which we recorded `sent` must not
    /// sort before it. Shown in whole seconds, the time is unchanged.
    public static func milliseconds(unixSeconds text: String) -> Int64? {
        let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard let whole = parts.first, !whole.isEmpty, let seconds = Int64(whole),
            seconds > -100_000_000_000, seconds < 100_000_000_000
        else {
            // Exponent forms (`1.5e9`) are legal JSON; accept them through Double.
            guard let value = Double(text), value.isFinite, abs(value) < 1e11 else { return nil }
            return Int64((value * 1000).rounded(.down))
        }
        var millis: Int64 = 0
        if parts.count == 2 {
            let fraction = parts[1].utf8
            guard !fraction.isEmpty else { return nil }
            guard fraction.allSatisfy({ $0 >= 48 && $0 <= 57 }) else {
                guard text.contains(where: { $0 == "e" || $0 == "E" }), let value = Double(text), value.isFinite,
                    abs(value) < 1e11
                else { return nil }
                return Int64((value * 1000).rounded(.down))
            }
            var digits = 0
            for c in fraction.prefix(3) {
                millis = millis * 10 + Int64(c - 48)
                digits += 1
            }
            for _ in digits..<3 { millis *= 10 }
            if seconds < 0 || whole.hasPrefix("-") { millis = -millis }
        } else {
            millis = seconds < 0 ? -999 : 999
        }
        return seconds * 1000 + millis
    }

    private static func isLeap(_ year: Int) -> Bool {
        (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
    }

    private static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2: return isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
    private static func daysFromCivil(year: Int, month: Int, day: Int) -> Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = Int64(month > 2 ? month - 3 : month + 9)
        let doy = (153 * mp + 2) / 5 + Int64(day) - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }
}
