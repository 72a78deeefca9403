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
        data.withContiguousBytes { input in
            [UInt8](unsafeUninitializedCapacity: byteCount) { out, initialized in
                _ = CCrypto.SHA1(input.baseAddress, input.count, out.baseAddress)
                initialized = byteCount
            }
        }
    }
}
