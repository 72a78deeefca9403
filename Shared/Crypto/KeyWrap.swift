/// Envelope encryption: a data key sealed with AES-256-GCM under a master key, tagged with the
/// master key's id so the right master key can be found after rotation.
///
/// Wire format (version 1):
/// `0x01 || idLength (1 byte) || masterKeyID (UTF-8) || nonce (12) || sealed data key (32) || tag (16)`.
/// The header (version, length and id) is the AES-GCM associated data, so relabelling a wrapped
/// key with another id makes it fail to unwrap.
public enum KeyWrap {
    /// The format version byte.
    static let version: UInt8 = 1

    /// Seals `dataKey` under `masterKey`, recording `masterKeyID` in the clear.
    ///
    /// Throws if `masterKeyID` is not a valid id (see ``isValidMasterKeyID(_:)``).
    public static func wrap(
        _ dataKey: SymmetricKey, masterKey: SymmetricKey, masterKeyID: String
    ) throws(CryptoError) -> [UInt8] {
        guard isValidMasterKeyID(masterKeyID) else {
            throw .malformedInput("master key id must be 1-64 characters of A-Z a-z 0-9 . _ -")
        }
        let header = [version, UInt8(masterKeyID.utf8.count)] + Array(masterKeyID.utf8)
        return header + (try AES256GCM.seal(dataKey.bytes, key: masterKey, authenticating: header))
    }

    /// Opens a wrapped key with `masterKey`, which must be the key named `masterKeyID`.
    ///
    /// Throws ``CryptoError/unknownMasterKeyID(_:)`` if the wrapped key names another id, and
    /// ``CryptoError/authenticationFailure`` if it was tampered with or the master key is wrong.
    public static func unwrap(
        _ wrapped: [UInt8], masterKey: SymmetricKey, masterKeyID: String
    ) throws(CryptoError) -> SymmetricKey {
        let parsed = try parse(wrapped)
        guard parsed.id == masterKeyID else { throw .unknownMasterKeyID(parsed.id) }
        return try open(wrapped, headerCount: parsed.headerCount, masterKey: masterKey)
    }

    /// The master key id a wrapped key was sealed under, without unwrapping it.
    public static func masterKeyID(of wrapped: [UInt8]) throws(CryptoError) -> String {
        try parse(wrapped).id
    }

    /// True for ids of 1 to 64 ASCII letters, digits, `.`, `_` or `-`.
    public static func isValidMasterKeyID(_ id: some StringProtocol) -> Bool {
        let utf8 = id.utf8
        guard (1...64).contains(utf8.count) else { return false }
        return utf8.allSatisfy { c in
            switch c {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
                return true
            default:
                return false
            }
        }
    }

    // MARK: - Internal

    static func parse(_ wrapped: [UInt8]) throws(CryptoError) -> (id: String, headerCount: Int) {
        guard wrapped.count >= 2, wrapped[0] == version else {
            throw .malformedInput("wrapped key has an unknown format version")
        }
        let headerCount = 2 + Int(wrapped[1])
        guard wrapped.count == headerCount + SymmetricKey.byteCount + AES256GCM.overhead else {
            throw .malformedInput("wrapped key has the wrong length")
        }
        let id = String(decoding: wrapped[2..<headerCount], as: UTF8.self)
        guard isValidMasterKeyID(id) else {
            throw .malformedInput("wrapped key has an invalid master key id")
        }
        return (id, headerCount)
    }

    static func open(_ wrapped: [UInt8], headerCount: Int, masterKey: SymmetricKey) throws(CryptoError) -> SymmetricKey {
        let header = Array(wrapped[..<headerCount])
        let bytes = try AES256GCM.open(Array(wrapped[headerCount...]), key: masterKey, authenticating: header)
        return SymmetricKey(unchecked: bytes)
    }
}
