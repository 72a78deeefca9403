/// Why a template did not parse, with the 1-based line and column (in Unicode scalars) of the
/// `{{` that starts the offending tag. The description names tags, never context data.
public struct TemplateError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// `{{#name}}` or `{{^name}}` never closed (position of the innermost open tag).
        case unclosedSection(name: String)
        /// `{{/found}}` while the innermost open section is `expected`.
        case mismatchedCloseTag(expected: String, found: String)
        /// `{{/name}}` with no section open.
        case unexpectedCloseTag(name: String)
        /// `{{` (or `{{{`) without its closing `}}` (`}}}`).
        case unclosedTag
        /// `{{}}`, `{{# }}`, `{{{ }}}` and the like.
        case emptyTagName
        /// A name with whitespace inside or an empty dotted component (`a..b`, `.a`, `a.`).
        case invalidTagName
        /// Partials `{{> x}}` and delimiter changes `{{=<% %>=}}` are not supported.
        case unsupportedTag
        /// Sections nested deeper than `maximum`.
        case nestingTooDeep(maximum: Int)
    }

    public let kind: Kind
    /// 1-based line.
    public let line: Int
    /// 1-based column, counted in Unicode scalars.
    public let column: Int

    public init(kind: Kind, line: Int, column: Int) {
        self.kind = kind
        self.line = line
        self.column = column
    }

    public var description: String {
        let what: String
        switch kind {
        case .unclosedSection(let name): what = "section \"\(name)\" is not closed"
        case .mismatchedCloseTag(let expected, let found):
            what = "closing tag \"\(found)\" does not match open section \"\(expected)\""
        case .unexpectedCloseTag(let name): what = "closing tag \"\(name)\" has no open section"
        case .unclosedTag: what = "tag is not closed"
        case .emptyTagName: what = "tag has no name"
        case .invalidTagName: what = "tag name is invalid"
        case .unsupportedTag: what = "partials and delimiter changes are not supported"
        case .nestingTooDeep(let max): what = "sections are nested deeper than \(max)"
        }
        return "template error at line \(line), column \(column): \(what)"
    }
}
