/// The master keys used for envelope encryption, parsed from configuration.
///
/// The `MASTER_KEY` setting holds one or more `id:base64key` entries separated by commas, e.g.
/// `2026-11:q83v...=,2026-05:Zm9v...=`. The FIRST entry is the active key: it wraps new data
/// keys. The others are retired keys that still unwrap, so keys can be rotated by prepending a
/// new entry, rewrapping stored keys with ``rewrap(_:)``, then dropping the old entry.
public struct MasterKeyring: Sendable, CustomStringConvertible {
    /// The id of the active master key, which wraps new keys.
    public let activeID: String
    /// Every id in configuration order (the active one first).
    public let ids: [String]
    private let keys: [String: SymmetricKey]

    /// Parses the `MASTER_KEY` configuration text. Whitespace around entries, ids and keys is
    /// ignored. Errors say which entry is wrong and why, and never echo key text.
    public init(configuration: String) throws(MasterKeyringError) {
        let text = configuration.trimmingASCIIWhitespace()
        guard !text.isEmpty else { throw .empty }
        var ids: [String] = []
        var keys: [String: SymmetricKey] = [:]
        for (index, rawEntry) in text.split(separator: ",", omittingEmptySubsequences: false).enumerated() {
            let position = index + 1
            let entry = rawEntry.trimmingASCIIWhitespace()
            guard !entry.isEmpty else { throw .emptyEntry(position: position) }
            guard let colon = entry.firstIndex(of: ":") else { throw .missingSeparator(position: position) }
            let id = entry[..<colon].trimmingASCIIWhitespace()
            let encoded = entry[entry.index(after: colon)...].trimmingASCIIWhitespace()
            guard KeyWrap.isValidMasterKeyID(id) else { throw .invalidID(position: position) }
            guard keys[id] == nil else { throw .duplicateID(id) }
            guard let bytes = Base64.decode(encoded) else { throw .invalidBase64(id: id) }
            guard bytes.count == SymmetricKey.byteCount else {
                throw .wrongKeyLength(id: id, byteCount: bytes.count)
            }
            ids.append(id)
            keys[id] = SymmetricKey(unchecked: bytes)
        }
        self.activeID = ids[0]
        self.ids = ids
        self.keys = keys
    }

    /// A keyring from keys already in memory; `entries[0]` is active. Throws on an empty list,
    /// an invalid id or a duplicate id.
    public init(entries: [(id: String, key: SymmetricKey)]) throws(MasterKeyringError) {
        guard !entries.isEmpty else { throw .empty }
        var keys: [String: SymmetricKey] = [:]
        for (index, entry) in entries.enumerated() {
            guard KeyWrap.isValidMasterKeyID(entry.id) else { throw .invalidID(position: index + 1) }
            guard keys[entry.id] == nil else { throw .duplicateID(entry.id) }
            keys[entry.id] = entry.key
        }
        self.activeID = entries[0].id
        self.ids = entries.map(\.id)
        self.keys = keys
    }

    /// The master key with this id, if the keyring holds it.
    public func key(id: String) -> SymmetricKey? { keys[id] }

    /// The active master key.
    public var activeKey: SymmetricKey { keys[activeID]! }

    /// Wraps `dataKey` under the active master key.
    public func wrap(_ dataKey: SymmetricKey) -> [UInt8] {
        do {
            return try KeyWrap.wrap(dataKey, masterKey: activeKey, masterKeyID: activeID)
        } catch {
            // The id was validated at init, so only a libcrypto failure can land here.
            fatalError("key wrapping failed: \(error)")
        }
    }

    /// Unwraps a data key sealed under any master key in the ring.
    ///
    /// Throws ``CryptoError/unknownMasterKeyID(_:)`` for an id the ring does not hold and
    /// ``CryptoError/authenticationFailure`` for a tampered wrapped key.
    public func unwrap(_ wrapped: [UInt8]) throws(CryptoError) -> SymmetricKey {
        let parsed = try KeyWrap.parse(wrapped)
        guard let masterKey = keys[parsed.id] else { throw .unknownMasterKeyID(parsed.id) }
        return try KeyWrap.open(wrapped, headerCount: parsed.headerCount, masterKey: masterKey)
    }

    /// True when `wrapped` is sealed under a master key other than the active one.
    public func needsRewrap(_ wrapped: [UInt8]) throws(CryptoError) -> Bool {
        try KeyWrap.masterKeyID(of: wrapped) != activeID
    }

    /// Unwraps `wrapped` with whichever master key it names and wraps the data key again under
    /// the active master key (always with a fresh nonce).
    public func rewrap(_ wrapped: [UInt8]) throws(CryptoError) -> [UInt8] {
        wrap(try unwrap(wrapped))
    }

    /// A new configuration entry `id:base64key` with a fresh random key, for operators.
    public static func generateEntry(id: String) -> String {
        precondition(KeyWrap.isValidMasterKeyID(id), "invalid master key id")
        return "\(id):\(Base64.encode(SymmetricKey.generate().bytes))"
    }

    public var description: String { "MasterKeyring(active: \(activeID), ids: \(ids), keys redacted)" }
}

/// Why the `MASTER_KEY` configuration could not be parsed. Never contains key text.
public enum MasterKeyringError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The setting is empty.
    case empty
    /// Entry `position` (1-based) is empty, e.g. a doubled or trailing comma.
    case emptyEntry(position: Int)
    /// Entry `position` has no `:` between id and key.
    case missingSeparator(position: Int)
    /// Entry `position` has an id that is empty or not made of `A-Z a-z 0-9 . _ -` (max 64).
    case invalidID(position: Int)
    /// The id appears more than once.
    case duplicateID(String)
    /// The key for this id is not valid base64.
    case invalidBase64(id: String)
    /// The key for this id does not decode to 32 bytes.
    case wrongKeyLength(id: String, byteCount: Int)

    public var description: String {
        let format = "expected comma-separated 'id:base64key' entries, the first being the active key"
        switch self {
        case .empty:
            return "MASTER_KEY is empty; \(format)"
        case .emptyEntry(let position):
            return "MASTER_KEY entry \(position) is empty (doubled or trailing comma?); \(format)"
        case .missingSeparator(let position):
            return "MASTER_KEY entry \(position) has no ':' between id and key; \(format)"
        case .invalidID(let position):
            return "MASTER_KEY entry \(position) has an invalid id: use 1-64 characters of A-Z a-z 0-9 . _ -"
        case .duplicateID(let id):
            return "MASTER_KEY lists id '\(id)' more than once"
        case .invalidBase64(let id):
            return "MASTER_KEY key for id '\(id)' is not valid base64"
        case .wrongKeyLength(let id, let byteCount):
            return "MASTER_KEY key for id '\(id)' decodes to \(byteCount) bytes; expected 32 (AES-256)"
        }
    }
}

extension StringProtocol {
    /// The text without leading and trailing spaces, tabs, CR and LF.
    func trimmingASCIIWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        return String(self[first...last])
    }
}
