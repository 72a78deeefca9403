/// deploy/routes.tsv: one row per public route, `METHOD<TAB>PATTERN<TAB>SERVICE`; `#` lines and
/// blank lines are comments.
struct RoutingTable {
    struct Row: Sendable {
        let route: RouteKey
        let service: String
        let line: Int
    }

    /// A row that is not three tab-separated columns; `line` is 1-based.
    struct FormatError: Error, CustomStringConvertible {
        let line: Int
        var description: String { "deploy/routes.tsv line \(line): expected METHOD<TAB>PATTERN<TAB>SERVICE" }
    }

    let rows: [Row]

    init(text: String) throws {
        var rows: [Row] = []
        for (index, rawLine) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            var line = Substring(rawLine)
            if line.hasSuffix("\r") { line = line.dropLast() }
            if line.allSatisfy({ $0 == " " || $0 == "\t" }) || line.hasPrefix("#") { continue }
            let columns = line.split(separator: "\t", omittingEmptySubsequences: false)
            guard columns.count == 3, columns.allSatisfy({ !$0.isEmpty }) else { throw FormatError(line: index + 1) }
            rows.append(
                Row(route: RouteKey(method: String(columns[0]), path: String(columns[1])), service: String(columns[2]), line: index + 1))
        }
        self.rows = rows
    }
}
