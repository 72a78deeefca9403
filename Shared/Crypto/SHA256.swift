import CCrypto

/// SHA-256 (FIPS 180-4) from libcrypto.
public enum SHA256 {
    /// Digest length in bytes.
    public static let byteCount = 32

    /// Returns the 32-byte SHA-256 digest of `data`.
    public static func hash(_ data: some Collection<UInt8>) -> [UInt8] {
        data.withContiguousBytes { LibCrypto.digest(LibCrypto.sha256, count: byteCount, $0) }
    }
}
