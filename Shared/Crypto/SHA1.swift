import CCrypto

/// SHA-1 from libcrypto.
///
/// Broken for collision resistance; present only because Amazon SNS `SignatureVersion` 1
/// signatures and some legacy protocols still use it. Do not use it for anything new.
public enum SHA1 {
    /// Digest length in bytes.
    public static let byteCount = 20

    /// Returns the 20-byte SHA-1 digest of `data`.
    public static func hash(_ data: some Collection<UInt8>) -> [UInt8] {
        data.withContiguousBytes { LibCrypto.digest(LibCrypto.sha1, count: byteCount, $0) }
    }
}
