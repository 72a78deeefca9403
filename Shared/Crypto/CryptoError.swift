/// A failure from the `Crypto` module.
///
/// Descriptions name the operation and the shape of the problem (lengths, kinds), never key
/// material, plaintext, or signatures, so they are safe to log.
public enum CryptoError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A key had the wrong number of bytes.
    case invalidKeyLength(expected: Int, actual: Int)
    /// A sealed box failed authentication: it was tampered with, or the key or AAD is wrong.
    case authenticationFailure
    /// A sealed box or wrapped key is too short or structurally invalid.
    case malformedInput(String)
    /// A key, certificate or signature could not be parsed.
    case invalidEncoding(String)
    /// A key is of the wrong algorithm or curve for the operation.
    case unsupportedKey(String)
    /// A wrapped key names a master key id that the keyring does not hold.
    case unknownMasterKeyID(String)
    /// libcrypto reported an unexpected internal failure during the named operation.
    case libcryptoFailure(String)

    public var description: String {
        switch self {
        case .invalidKeyLength(let expected, let actual):
            return "invalid key length: expected \(expected) bytes, got \(actual)"
        case .authenticationFailure:
            return "authentication failed: data was tampered with, or the key or associated data is wrong"
        case .malformedInput(let what): return "malformed input: \(what)"
        case .invalidEncoding(let what): return "invalid encoding: \(what)"
        case .unsupportedKey(let what): return "unsupported key: \(what)"
        case .unknownMasterKeyID(let id): return "unknown master key id '\(id)'"
        case .libcryptoFailure(let operation): return "libcrypto failure in \(operation)"
        }
    }
}
