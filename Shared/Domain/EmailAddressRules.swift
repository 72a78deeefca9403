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
