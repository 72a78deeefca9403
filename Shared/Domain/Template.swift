import JSON

/// A parsed Mustache template (a subset of the Mustache spec), rendered against a `JSON` context.
///
/// Supported tags:
/// - `{{name}}` — the value, HTML-escaped (`& < > " '`) when rendering with `escapeHTML`.
/// - `{{{name}}}`, `{{& name}}` — the value, never escaped.
/// - `{{a.b.c}}` — dotted paths; `{{.}}` — the current item.
/// - `{{#name}}…{{/name}}` — a section: a non-empty array renders the body once per element
///   (each element pushed as the context); an object is pushed and renders once; a truthy
///   scalar is pushed and renders once; falsy values skip.
/// - `{{^name}}…{{/name}}` — inverted: renders once when the value is falsy.
/// - `{{! comment }}` — ignored (may span lines).
///
/// Falsy: missing, `null`, `false`, `""`, a number equal to zero, an empty array (JavaScript
/// Mustache semantics); an empty object is truthy. Lookup walks up the context stack: the first
/// component of a path is searched from the innermost context outwards, the rest resolve strictly
/// inside what it found (Mustache spec). Values render as: strings as they are, numbers as
/// their literal text (`23.45`), booleans as `true`/`false`, and null, arrays, objects and
/// missing values as the empty string. Whitespace inside tags is ignored (`{{ name }}`).
/// Not supported: partials, delimiter changes (both parse errors), lambdas, and the spec's
/// removal of "standalone" tag lines (tag lines are kept as written).
///
/// Guards: sections nest at most `maximumSectionDepth` deep (a parse error); rendering stops
/// at `TemplateRenderLimits` (output bytes and work steps) and returns the text so far,
/// truncated on a UTF-8 boundary, with `TemplateOutput.isTruncated` set.
public struct Template: Sendable, Equatable {
    /// The deepest section nesting `parse` accepts.
    public static let maximumSectionDepth = 32

    indirect enum Node: Sendable, Equatable {
        case text(String)
        /// `path` empty means `{{.}}`.
        case variable(path: [String], escaped: Bool)
        case section(path: [String], inverted: Bool, body: [Node])
    }

    let nodes: [Node]

    /// Parses `source`; throws the first problem with its line and column.
    public static func parse(_ source: String) throws(TemplateError) -> Template {
        var parser = TemplateParser(Array(source.utf8))
        return Template(nodes: try parser.parse())
    }

    /// Renders against `context`, HTML-escaping `{{name}}` values when `escapeHTML` (use true
    /// for HTML bodies, false for subjects and text bodies). Silently truncates at `limits`;
    /// use `renderOutput` to learn whether it did.
    public func render(_ context: JSON, escapeHTML: Bool, limits: TemplateRenderLimits = .default) -> String {
        renderOutput(context, escapeHTML: escapeHTML, limits: limits).text
    }

    /// Renders like `render` and reports whether a limit cut the output short.
    public func renderOutput(_ context: JSON, escapeHTML: Bool, limits: TemplateRenderLimits = .default)
        -> TemplateOutput
    {
        var renderer = TemplateRenderer(context: context, escapeHTML: escapeHTML, limits: limits)
        renderer.render(nodes)
        return TemplateOutput(text: String(decoding: renderer.out, as: UTF8.self), isTruncated: renderer.stopped)
    }
}

/// Bounds on one rendering, so hostile templates or data cannot exhaust memory or time.
public struct TemplateRenderLimits: Sendable, Hashable {
    /// The most UTF-8 bytes of output; longer output is cut (on a character boundary).
    public var maximumOutputBytes: Int
    /// The most tag/text nodes visited (counts every section iteration); stops nested loops
    /// over large arrays that produce little output.
    public var maximumSteps: Int

    public init(maximumOutputBytes: Int = 4 << 20, maximumSteps: Int = 1_000_000) {
        self.maximumOutputBytes = maximumOutputBytes
        self.maximumSteps = maximumSteps
    }

    /// 4 MiB of output, one million steps.
    public static let `default` = TemplateRenderLimits()
}

/// The result of `Template.renderOutput`.
public struct TemplateOutput: Sendable, Hashable {
    public var text: String
    /// True when a `TemplateRenderLimits` bound stopped rendering early.
    public var isTruncated: Bool

    public init(text: String, isTruncated: Bool) {
        self.text = text
        self.isTruncated = isTruncated
    }
}

struct TemplateParser {
    let bytes: [UInt8]
    var index = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    struct OpenSection {
        var path: [String]
        var name: String
        var inverted: Bool
        var tagStart: Int
        var body: [Template.Node] = []
    }

    func error(_ kind: TemplateError.Kind, at offset: Int) -> TemplateError {
        var line = 1
        var lineStart = 0
        for i in 0..<offset where bytes[i] == 0x0A {
            line += 1
            lineStart = i + 1
        }
        var column = 1
        for i in lineStart..<offset where bytes[i] & 0xC0 != 0x80 { column += 1 }
        return TemplateError(kind: kind, line: line, column: column)
    }

    func find(_ pattern: [UInt8], from start: Int) -> Int? {
        guard pattern.count <= bytes.count else { return nil }
        var i = start
        while i + pattern.count <= bytes.count {
            if bytes[i] == pattern[0] {
                var match = true
                for j in 1..<pattern.count where bytes[i + j] != pattern[j] {
                    match = false
                    break
                }
                if match { return i }
            }
            i += 1
        }
        return nil
    }

    static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D }

    func trimmed(_ range: Range<Int>) -> Range<Int> {
        var lo = range.lowerBound
        var hi = range.upperBound
        while lo < hi, Self.isSpace(bytes[lo]) { lo += 1 }
        while hi > lo, Self.isSpace(bytes[hi - 1]) { hi -= 1 }
        return lo..<hi
    }

    /// The name in `range` (trimmed) as a path; `.` is the empty path.
    func path(_ range: Range<Int>, tagStart: Int) throws(TemplateError) -> (name: String, path: [String]) {
        let r = trimmed(range)
        if r.isEmpty { throw error(.emptyTagName, at: tagStart) }
        if bytes[r].contains(where: Self.isSpace) { throw error(.invalidTagName, at: tagStart) }
        let name = String(decoding: bytes[r], as: UTF8.self)
        if name == "." { return (name, []) }
        let parts = name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        if parts.contains(where: \.isEmpty) { throw error(.invalidTagName, at: tagStart) }
        return (name, parts)
    }

    mutating func parse() throws(TemplateError) -> [Template.Node] {
        let open: [UInt8] = [0x7B, 0x7B]
        let close: [UInt8] = [0x7D, 0x7D]
        let tripleClose: [UInt8] = [0x7D, 0x7D, 0x7D]
        var root: [Template.Node] = []
        var stack: [OpenSection] = []

        func append(_ node: Template.Node) {
            if stack.isEmpty { root.append(node) } else { stack[stack.count - 1].body.append(node) }
        }

        while index < bytes.count {
            guard let tagStart = find(open, from: index) else {
                append(.text(String(decoding: bytes[index...], as: UTF8.self)))
                break
            }
            if tagStart > index { append(.text(String(decoding: bytes[index..<tagStart], as: UTF8.self))) }
            let afterOpen = tagStart + 2
            if afterOpen < bytes.count, bytes[afterOpen] == 0x7B {  // {{{raw}}}
                guard let end = find(tripleClose, from: afterOpen + 1) else { throw error(.unclosedTag, at: tagStart) }
                let (_, p) = try path((afterOpen + 1)..<end, tagStart: tagStart)
                append(.variable(path: p, escaped: false))
                index = end + 3
                continue
            }
            guard let end = find(close, from: afterOpen) else { throw error(.unclosedTag, at: tagStart) }
            index = end + 2
            let content = trimmed(afterOpen..<end)
            let sigil: UInt8? = content.isEmpty ? nil : bytes[content.lowerBound]
            let rest = content.isEmpty ? content : (content.lowerBound + 1)..<content.upperBound
            switch sigil {
            case UInt8(ascii: "!"):
                continue
            case UInt8(ascii: "#"), UInt8(ascii: "^"):
                let (name, p) = try path(rest, tagStart: tagStart)
                if stack.count >= Template.maximumSectionDepth {
                    throw error(.nestingTooDeep(maximum: Template.maximumSectionDepth), at: tagStart)
                }
                stack.append(
                    OpenSection(path: p, name: name, inverted: sigil == UInt8(ascii: "^"), tagStart: tagStart))
            case UInt8(ascii: "/"):
                let (name, _) = try path(rest, tagStart: tagStart)
                guard let top = stack.last else { throw error(.unexpectedCloseTag(name: name), at: tagStart) }
                guard top.name == name else {
                    throw error(.mismatchedCloseTag(expected: top.name, found: name), at: tagStart)
                }
                stack.removeLast()
                append(.section(path: top.path, inverted: top.inverted, body: top.body))
            case UInt8(ascii: "&"):
                let (_, p) = try path(rest, tagStart: tagStart)
                append(.variable(path: p, escaped: false))
            case UInt8(ascii: ">"), UInt8(ascii: "="):
                throw error(.unsupportedTag, at: tagStart)
            default:
                let (_, p) = try path(content, tagStart: tagStart)
                append(.variable(path: p, escaped: true))
            }
        }
        if let top = stack.last { throw error(.unclosedSection(name: top.name), at: top.tagStart) }
        return root
    }
}

struct TemplateRenderer {
    var out: [UInt8] = []
    var stack: [JSON]
    let escapeHTML: Bool
    let limits: TemplateRenderLimits
    var steps = 0
    var stopped = false

    init(context: JSON, escapeHTML: Bool, limits: TemplateRenderLimits) {
        self.stack = [context]
        self.escapeHTML = escapeHTML
        self.limits = limits
    }

    func lookup(_ path: [String]) -> JSON? {
        guard let first = path.first else { return stack.last }
        for context in stack.reversed() {
            guard case .object(let object) = context, var value = object[first] else { continue }
            for component in path.dropFirst() {
                guard case .object(let inner) = value, let next = inner[component] else { return nil }
                value = next
            }
            return value
        }
        return nil
    }

    static func isTruthy(_ value: JSON?) -> Bool {
        switch value {
        case nil, .null?: return false
        case .bool(let b)?: return b
        case .string(let s)?: return !s.isEmpty
        case .number(let n)?: return Double(n) != 0
        case .array(let a)?: return !a.isEmpty
        case .object?: return true
        }
    }

    mutating func emit(_ text: some Collection<UInt8>) {
        if stopped { return }
        let room = limits.maximumOutputBytes - out.count
        if text.count <= room {
            out.append(contentsOf: text)
            return
        }
        // Keep what fits, cut back to a character boundary: if the first byte left out is a
        // UTF-8 continuation byte, drop the whole character it belongs to.
        let bytes = Array(text)
        var cut = max(room, 0)
        while cut > 0, bytes[cut] & 0xC0 == 0x80 { cut -= 1 }
        out.append(contentsOf: bytes[..<cut])
        stopped = true
    }

    mutating func emitValue(_ value: JSON?, escaped: Bool) {
        let text: String
        switch value {
        case .string(let s)?: text = s
        case .number(let n)?: text = n
        case .bool(let b)?: text = b ? "true" : "false"
        default: return
        }
        guard escaped && escapeHTML else { return emit(text.utf8) }
        var buffer: [UInt8] = []
        buffer.reserveCapacity(text.utf8.count)
        for b in text.utf8 {
            switch b {
            case UInt8(ascii: "&"): buffer.append(contentsOf: "&amp;".utf8)
            case UInt8(ascii: "<"): buffer.append(contentsOf: "&lt;".utf8)
            case UInt8(ascii: ">"): buffer.append(contentsOf: "&gt;".utf8)
            case UInt8(ascii: "\""): buffer.append(contentsOf: "&quot;".utf8)
            case UInt8(ascii: "'"): buffer.append(contentsOf: "&#39;".utf8)
            default: buffer.append(b)
            }
        }
        emit(buffer)
    }

    mutating func render(_ nodes: [Template.Node]) {
        for node in nodes {
            if stopped { return }
            steps += 1
            if steps > limits.maximumSteps {
                stopped = true
                return
            }
            switch node {
            case .text(let t): emit(t.utf8)
            case .variable(let path, let escaped): emitValue(lookup(path), escaped: escaped)
            case .section(let path, let inverted, let body):
                let value = lookup(path)
                let truthy = Self.isTruthy(value)
                if inverted {
                    if !truthy { render(body) }
                } else if truthy, let value {
                    if case .array(let items) = value {
                        for item in items {
                            if stopped { return }
                            stack.append(item)
                            render(body)
                            stack.removeLast()
                        }
                    } else {
                        stack.append(value)
                        render(body)
                        stack.removeLast()
                    }
                }
            }
        }
    }
}
