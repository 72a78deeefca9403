import Foundation

/// Renders header fields: RFC 2047 encoded words for non-ASCII text and RFC 5322 folding so
/// lines stay within 78 characters where there is whitespace to fold at (never beyond 998).
enum HeaderFolding {
    static let preferredLineLength = 78
    static let maxLineLength = 998
    /// Bytes of UTF-8 per encoded word: 39 bytes → 52 base64 characters → a 64-character word,
    /// which fits on a line after a typical field name.
    static let encodedWordBytes = 39

    /// Whether text is printable ASCII (plus tab), so it can go into a header unencoded.
    static func isPlainASCII(_ text: String) -> Bool {
        text.utf8.allSatisfy { ($0 >= 0x20 && $0 < 0x7F) || $0 == 0x09 }
    }

    /// RFC 2047 `B` encoded words for `text`, each holding whole Unicode scalars.
    static func encodedWords(_ text: String) -> [String] {
        var words: [String] = []
        var chunk: [UInt8] = []
        for scalar in text.unicodeScalars {
            let bytes = Array(String(scalar).utf8)
            if chunk.count + bytes.count > encodedWordBytes, !chunk.isEmpty {
                words.append(encodedWord(chunk))
                chunk = []
            }
            chunk += bytes
        }
        if !chunk.isEmpty || words.isEmpty { words.append(encodedWord(chunk)) }
        return words
    }

    private static func encodedWord(_ bytes: [UInt8]) -> String {
        "=?UTF-8?B?\(Data(bytes).base64EncodedString())?="
    }

    /// Tokens of an unstructured value (for example a subject): split at single spaces so that
    /// joining them with spaces gives the value back; non-ASCII values become encoded words.
    static func unstructuredTokens(_ value: String) -> [String] {
        if isPlainASCII(value) {
            return value.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
        }
        return encodedWords(value)
    }

    /// RFC 5322 `atext` characters, by ASCII code.
    private static let atext: [Bool] = {
        var table = [Bool](repeating: false, count: 256)
        for byte in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-/=?^_`{|}~".utf8 {
            table[Int(byte)] = true
        }
        return table
    }()

    /// The display-name tokens of a mailbox: atoms as they are, other ASCII as a quoted
    /// string, non-ASCII as encoded words.
    static func phraseTokens(_ name: String) -> [String] {
        if !isPlainASCII(name) { return encodedWords(name) }
        let words = name.split(separator: " ")
        if !words.isEmpty, words.allSatisfy({ $0.utf8.allSatisfy { atext[Int($0)] } }),
            words.joined(separator: " ") == name
        {
            return words.map(String.init)
        }
        let escaped = name.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
        return ["\"\(escaped)\""]
    }

    /// Joins `name:` and the tokens with single spaces, breaking the line (CRLF SP) before a
    /// token that would pass 78 characters. Ends with CRLF.
    static func fold(name: String, tokens: [String]) throws(MailMessageError) -> String {
        var output = ""
        var line = name + ":"
        var lineHasToken = false
        for token in tokens {
            if lineHasToken, !token.isEmpty, line.utf8.count + 1 + token.utf8.count > preferredLineLength {
                output += line + "\r\n"
                line = ""
            }
            line += " " + token
            lineHasToken = true
            if line.utf8.count > maxLineLength { throw .headerLineTooLong(field: name) }
        }
        return output + line + "\r\n"
    }
}
