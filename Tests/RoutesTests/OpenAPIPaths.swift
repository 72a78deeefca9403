/// The operations of an OpenAPI document's `paths:` section, read line by line (no YAML
/// library is available). It relies on the formatting rules stated at the top of
/// docs/openapi.yaml and refuses a `paths:` section that breaks them, so a reformatted document
/// fails loudly instead of silently yielding fewer routes.
enum OpenAPIPaths {
    /// The operation keys of a Path Item Object.
    static let methods: Set<String> = ["get", "put", "post", "delete", "patch", "head", "options", "trace"]

    /// A `paths:` section this reader cannot read; `line` is 1-based.
    struct FormatError: Error, CustomStringConvertible {
        let line: Int
        let problem: String
        var description: String { "docs/openapi.yaml line \(line): \(problem)" }
    }

    /// Every (method, path) of the document, in document order.
    static func operations(in text: String) throws -> [(method: String, path: String)] {
        var operations: [(method: String, path: String)] = []
        var inPaths = false
        var sawPaths = false
        var currentPath: String? = nil
        var seenPaths: Set<String> = []
        for (index, rawLine) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let number = index + 1
            var line = Substring(rawLine)
            if line.hasSuffix("\r") { line = line.dropLast() }
            let content = line.drop(while: { $0 == " " })
            if content.isEmpty || content.hasPrefix("#") { continue }
            let indent = line.count - content.count
            if !inPaths {
                if indent == 0 && stripComment(content) == "paths:" {
                    guard !sawPaths else { throw FormatError(line: number, problem: "a second paths: section") }
                    inPaths = true
                    sawPaths = true
                }
                continue
            }
            if content.hasPrefix("\t") { throw FormatError(line: number, problem: "tab indentation") }
            switch indent {
            case 0:
                inPaths = false  // the next top-level key ends the section
            case 2:
                let key = try mappingKey(content, line: number)
                guard key.hasPrefix("/") else {
                    throw FormatError(line: number, problem: "a path key must start with / and be indented 2 spaces")
                }
                guard seenPaths.insert(key).inserted else { throw FormatError(line: number, problem: "duplicate path \(key)") }
                currentPath = key
            case 4:
                let (key, inlineValue) = splitKey(content)
                guard key != "$ref" else { throw FormatError(line: number, problem: "a $ref path item is not read") }
                guard methods.contains(key) else { continue }  // parameters, summary, ...
                guard !inlineValue else {
                    throw FormatError(line: number, problem: "operation \(key) must be block style, its body on the next lines")
                }
                guard let path = currentPath else { throw FormatError(line: number, problem: "an operation outside a path") }
                operations.append((method: key.uppercased(), path: path))
            default:
                if indent < 4 {
                    throw FormatError(line: number, problem: "unexpected indentation \(indent) in paths:")
                }
            }
        }
        guard sawPaths else { throw FormatError(line: 1, problem: "no top-level paths: section") }
        return operations
    }

    /// The key of a `key:` line whose value is on the following lines (block style), unquoted.
    private static func mappingKey(_ content: Substring, line: Int) throws -> String {
        let text = stripComment(content)
        guard text.hasSuffix(":") else {
            throw FormatError(line: line, problem: "expected a block-style key ending with ':' (no flow style or $ref here)")
        }
        var key = text.dropLast()
        if key.count >= 2, let first = key.first, first == "'" || first == "\"", key.last == first {
            key = key.dropFirst().dropLast()
        }
        return String(key)
    }

    /// The key of a `key: value` or `key:` line, and whether a value follows on the same line.
    private static func splitKey(_ content: Substring) -> (key: String, inlineValue: Bool) {
        let text = stripComment(content)
        if text.hasSuffix(":") { return (String(text.dropLast()), false) }
        guard let range = text.range(of: ": ") else { return (String(text), true) }
        return (String(text[..<range.lowerBound]), true)
    }

    /// The text before a ` #` comment, without trailing spaces.
    private static func stripComment(_ content: Substring) -> Substring {
        var text = content
        if let range = text.range(of: " #") { text = text[..<range.lowerBound] }
        while text.last == " " { text = text.dropLast() }
        return text
    }
}
