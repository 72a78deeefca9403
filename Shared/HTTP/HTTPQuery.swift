/// A parsed query string (`a=1&b=x+y`): ordered name/value pairs, percent-decoded, `+` as space.
public struct HTTPQuery: Sendable, Sequence {
    public private(set) var items: [(name: String, value: String)]

    public init() { items = [] }
    public init(_ items: [(String, String)]) { self.items = items.map { (name: $0.0, value: $0.1) } }

    /// Parses the raw query (without the `?`). Throws 400 on malformed percent-encoding or non-UTF-8.
    public init(parsing raw: Substring.UTF8View) throws(HTTPError) {
        items = []
        for pair in raw.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            let (rawName, rawValue) = splitOnce(pair, UInt8(ascii: "="))
            guard let name = PercentDecoding.decode(rawName, plusAsSpace: true),
                let value = PercentDecoding.decode(rawValue, plusAsSpace: true)
            else { throw HTTPError(.badRequest, "invalid percent-encoding in query") }
            items.append((name: name, value: value))
        }
    }

    public var isEmpty: Bool { items.isEmpty }

    /// The first value for `name`.
    public subscript(name: String) -> String? {
        for item in items where item.name == name { return item.value }
        return nil
    }

    /// Every value for `name`, in order.
    public func values(for name: String) -> [String] { items.filter { $0.name == name }.map(\.value) }

    public func makeIterator() -> IndexingIterator<[(name: String, value: String)]> { items.makeIterator() }
}

/// Splits at the first `separator`; the second part is empty when it is absent.
func splitOnce<C: Collection>(_ c: C, _ separator: C.Element) -> (C.SubSequence, C.SubSequence)
where C.Element: Equatable {
    if let i = c.firstIndex(of: separator) {
        return (c[c.startIndex..<i], c[c.index(after: i)...])
    }
    return (c[...], c[c.endIndex...])
}
