/// Why a string is not a usable email address. The description never echoes the address.
public enum EmailAddressProblem: String, Sendable, Equatable, CaseIterable, CustomStringConvertible {
    case empty = "is empty"
    case tooLong = "is longer than 254 bytes"
    case missingAt = "has no \"@\""
    case multipleAt = "has more than one \"@\""
    case emptyLocalPart = "has nothing before the \"@\""
    case localPartTooLong = "has more than 64 bytes before the \"@\""
    case invalidLocalPart = "has a misplaced dot or a forbidden character before the \"@\""
    case invalidDomain = "has an invalid domain"
    case domainWithoutDot = "has a domain without a dot"
    case whitespaceOrControl = "contains a space or control character"

    public var description: String { rawValue }
}

/// A practical, syntactic email address check (no DNS, no quoted local parts, no IP literals).
///
/// Accepted: exactly one `@`; a local part of 1...64 UTF-8 bytes without whitespace, control
/// characters, `" ( ) , : ; < > [ \ ]`, a leading or trailing dot or two dots in a row; a domain
/// of dot-separated labels (at least two), each 1...63 bytes of letters (any script), digits and
/// hyphens, not starting or ending with a hyphen, the last label at least 2 characters; at most
/// 254 UTF-8 bytes in all. Case is kept as given; callers that key on addresses decide folding.
public enum EmailAddressRules {
    public static let maximumBytes = 254
    public static let maximumLocalPartBytes = 64
    public static let maximumDomainLabelBytes = 63

    /// Whether `address` passes the check.
    public static func isValid(_ address: String) -> Bool { problem(with: address) == nil }

    /// The first problem found with `address`, or nil when it is acceptable.
    public static func problem(with address: String) -> EmailAddressProblem? {
        isAcceptableASCII(address) ? nil : fullCheck(address)
    }

    /// Every rule, in order, for any address (`problem(with:)` takes a one-pass shortcut first).
    static func fullCheck(_ address: String) -> EmailAddressProblem? {
        if address.isEmpty { return .empty }
        if address.utf8.count > maximumBytes { return .tooLong }
        for scalar in address.unicodeScalars where isWhitespaceOrControl(scalar) { return .whitespaceOrControl }
        let parts = address.split(separator: "@", omittingEmptySubsequences: false)
        if parts.count < 2 { return .missingAt }
        if parts.count > 2 { return .multipleAt }
        let local = parts[0]
        let domain = parts[1]
        if local.isEmpty { return .emptyLocalPart }
        if local.utf8.count > maximumLocalPartBytes { return .localPartTooLong }
        if !isValidLocalPart(local) { return .invalidLocalPart }
        if domain.isEmpty { return .invalidDomain }
        let labels = domain.split(separator: ".", omittingEmptySubsequences: false)
        if labels.count < 2 {
            return domain.unicodeScalars.allSatisfy(isLabelScalar) ? .domainWithoutDot : .invalidDomain
        }
        for label in labels where !isValidLabel(label) { return .invalidDomain }
        if let last = labels.last, last.count < 2 { return .invalidDomain }
        return nil
    }

    /// The common case in one pass over the bytes: an ASCII address that passes every rule
    /// above. False for anything else (any non-ASCII byte, or any problem), which then goes
    /// through the full check that names the problem. It accepts exactly the ASCII addresses the
    /// full check accepts (a test compares them on generated input); addresses are checked for
    /// every message at acceptance and again when the email is composed.
    static func isAcceptableASCII(_ address: String) -> Bool {
        let utf8 = address.utf8
        guard !utf8.isEmpty, utf8.count <= maximumBytes else { return false }
        var index = 0
        var at = -1
        var previous: UInt8 = 0
        var labelLength = 0
        var labels = 0
        for byte in utf8 {
            if byte >= 0x80 || byte <= 0x20 || byte == 0x7F { return false }
            if at < 0 {
                if byte == UInt8(ascii: "@") {
                    // Local part: 1...64 bytes, not ending with a dot.
                    if index == 0 || index > maximumLocalPartBytes || previous == UInt8(ascii: ".") { return false }
                    at = index
                } else if byte == UInt8(ascii: ".") {
                    if index == 0 || previous == UInt8(ascii: ".") { return false }
                } else if forbiddenInLocalPartTable[Int(byte)] {
                    return false
                }
            } else if byte == UInt8(ascii: ".") {
                // A label ends: not empty, not ending with a hyphen.
                if labelLength == 0 || previous == UInt8(ascii: "-") { return false }
                labels += 1
                labelLength = 0
            } else if byte == UInt8(ascii: "-") || isASCIIAlphanumeric(byte) {
                if labelLength == 0 && byte == UInt8(ascii: "-") { return false }
                labelLength += 1
                if labelLength > maximumDomainLabelBytes { return false }
            } else {
                return false  // a second "@" or a character no label may hold
            }
            previous = byte
            index += 1
        }
        // The last label: not empty, not ending with a hyphen, at least 2 characters; 2+ labels.
        guard at >= 0, labelLength >= 2, previous != UInt8(ascii: "-") else { return false }
        return labels + 1 >= 2
    }

    private static let forbiddenInLocalPartTable: [Bool] = {
        var table = [Bool](repeating: false, count: 128)
        for byte in "\"(),:;<>[\\]".utf8 { table[Int(byte)] = true }
        return table
    }()

    private static func isASCIIAlphanumeric(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || ((byte | 0x20) >= 0x61 && (byte | 0x20) <= 0x7A)
    }

    static func isWhitespaceOrControl(_ s: Unicode.Scalar) -> Bool {
        // ASCII whitespace is 0x09-0x0D and the space: no Unicode property lookup needed.
        if s.isASCII { return s.value <= 0x20 || s.value == 0x7F }
        return (s.value >= 0x80 && s.value < 0xA0) || s.properties.isWhitespace
    }

    private static let forbiddenInLocalPart: Set<UInt8> = Set("\"(),:;<>[\\]".utf8)

    static func isValidLocalPart(_ local: Substring) -> Bool {
        let utf8 = local.utf8
        guard utf8.allSatisfy({ $0 < 0x80 }) else {
            if local.first == "." || local.last == "." || local.contains("..") { return false }
            return !local.unicodeScalars.contains(where: { $0.isASCII && forbiddenInLocalPart.contains(UInt8($0.value)) })
        }
        // ASCII (nearly every address): byte checks, without Foundation's `contains`.
        if utf8.first == UInt8(ascii: ".") || utf8.last == UInt8(ascii: ".") { return false }
        var previous: UInt8 = 0
        for byte in utf8 {
            if byte == UInt8(ascii: "."), previous == UInt8(ascii: ".") { return false }
            if forbiddenInLocalPart.contains(byte) { return false }
            previous = byte
        }
        return true
    }

    static func isLabelScalar(_ s: Unicode.Scalar) -> Bool {
        if s == "-" { return true }
        if s.isASCII { return ("a"..."z").contains(s) || ("A"..."Z").contains(s) || ("0"..."9").contains(s) }
        let p = s.properties
        return p.isAlphabetic || p.numericType != nil || p.generalCategory == .nonspacingMark
            || p.generalCategory == .spacingMark
    }

    static func isValidLabel(_ label: Substring) -> Bool {
        guard !label.isEmpty, label.utf8.count <= maximumDomainLabelBytes else { return false }
        if label.first == "-" || label.last == "-" { return false }
        return label.unicodeScalars.allSatisfy(isLabelScalar)
    }
}
