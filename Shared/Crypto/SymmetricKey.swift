/// A 256-bit symmetric key (for AES-256-GCM and key wrapping).
///
/// Its `description` is redacted, and equality is checked in constant time, so a key never
/// ends up in a log by accident and comparisons do not leak it.
public struct SymmetricKey: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible {
    /// Key length in bytes.
    public static let byteCount = 32

    /// The raw key bytes (exactly 32). Handle with care: never log or persist them unwrapped.
    public let bytes: [UInt8]

    /// Wraps existing key bytes; throws ``CryptoError/invalidKeyLength(expected:actual:)``
    /// unless there are exactly 32.
    public init(bytes: [UInt8]) throws(CryptoError) {
        guard bytes.count == Self.byteCount else {
            throw .invalidKeyLength(expected: Self.byteCount, actual: bytes.count)
        }
        self.bytes = bytes
    }

    /// A fresh random key from the CSPRNG.
    public static func generate() -> SymmetricKey {
        SymmetricKey(unchecked: SecureRandom.bytes(byteCount))
    }

    init(unchecked bytes: [UInt8]) {
        self.bytes = bytes
    }

    public static func == (lhs: SymmetricKey, rhs: SymmetricKey) -> Bool {
        ConstantTime.equals(lhs.bytes, rhs.bytes)
    }

    public var description: String { "SymmetricKey(\(Self.byteCount) bytes, redacted)" }
    public var debugDescription: String { description }
}
