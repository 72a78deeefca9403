import CCrypto

/// Comparisons whose running time does not depend on the bytes compared.
public enum ConstantTime {
    /// True when `a` and `b` are byte-for-byte equal, compared with `CRYPTO_memcmp` so the time
    /// taken does not reveal where they differ. Different lengths return false at once (the
    /// length of a MAC or token is not secret).
    public static func equals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        if a.isEmpty { return true }
        return a.withUnsafeBytes { pa in
            b.withUnsafeBytes { pb in
                CRYPTO_memcmp(pa.baseAddress, pb.baseAddress, a.count) == 0
            }
        }
    }
}
