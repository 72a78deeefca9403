import JSON

/// Decodes `application/x-www-form-urlencoded` bodies into a `JSON.object` of strings.
///
/// Bracketed keys nest, as customer.io and PHP-style clients send them:
/// `data[price]=23.45&data[name]=x` becomes `{"data":{"price":"23.45","name":"x"}}`, to any
/// depth (`a[b][c]=v`). `a[]=1&a[]=2` builds an array. A later value for the same key wins.
public enum FormDecoder {
    /// The deepest key nesting accepted.
    public static let maximumDepth = 16

    /// Decodes `body`; throws 400 for malformed percent-encoding, non-UTF-8 or bad keys.
    public static func decode(_ body: [UInt8]) throws(HTTPError) -> JSON {
        let root = FormNode()
        root.kind = .object
        for pair in body.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            let (rawKey, rawValue) = splitOnce(pair, UInt8(ascii: "="))
            guard let key = PercentDecoding.decode(rawKey, plusAsSpace: true),
                let value = PercentDecoding.decode(rawValue, plusAsSpace: true)
            else { throw HTTPError(.badRequest, "invalid form encoding") }
            let path = try keyPath(key)
            root.insert(value, at: path[...])
        }
        return root.json
    }

    /// Splits `a[b][c]` into `["a", "b", "c"]`; `[]` gives an empty component (append).
    static func keyPath(_ key: String) throws(HTTPError) -> [String] {
        guard let open = key.firstIndex(of: "[") else {
            guard !key.isEmpty else { throw HTTPError(.badRequest, "empty form key") }
            return [key]
        }
        let base = String(key[..<open])
        guard !base.isEmpty else { throw HTTPError(.badRequest, "empty form key") }
        var path = [base]
        var rest = key[open...]
        while !rest.isEmpty {
            guard rest.first == "[", let close = rest.firstIndex(of: "]") else {
                throw HTTPError(.badRequest, "malformed form key")
            }
            path.append(String(rest[rest.index(after: rest.startIndex)..<close]))
            rest = rest[rest.index(after: close)...]
            if path.count > maximumDepth { throw HTTPError(.badRequest, "form key nested too deep") }
        }
        return path
    }

}

/// The tree a form is decoded into before it becomes `JSON`: nodes are mutated in place (plain
/// stored properties of a class, never copied) and object keys are hashed, so decoding stays
/// linear in the body size. Rebuilding `JSON` values per pair, with their linear key lookup,
/// made a large hostile form quadratic.
private final class FormNode {
    enum Kind { case null, string, array, object }

    var kind = Kind.null
    var string = ""
    var items: [FormNode] = []
    var order: [String] = []
    var children: [String: FormNode] = [:]

    /// Sets the value at `path` below this node: an empty component appends to an array, any
    /// other selects an object member; a node of the other kind is replaced. A later value wins.
    func insert(_ value: String, at path: ArraySlice<String>) {
        var node = self
        for key in path {
            if key.isEmpty {
                node.become(.array)
                let child = FormNode()
                node.items.append(child)
                node = child
            } else {
                node.become(.object)
                if let existing = node.children[key] {
                    node = existing
                } else {
                    let child = FormNode()
                    node.children[key] = child
                    node.order.append(key)
                    node = child
                }
            }
        }
        node.become(.string)
        node.string = value
    }

    /// Switches to `kind`, dropping the content of any other kind.
    private func become(_ kind: Kind) {
        guard self.kind != kind else { return }
        self.kind = kind
        string = ""
        items = []
        order = []
        children = [:]
    }

    var json: JSON {
        switch kind {
        case .null: return .null
        case .string: return .string(string)
        case .array: return .array(items.map(\.json))
        case .object: return .object(JSONObject(order.map { ($0, children[$0]!.json) }))
        }
    }
}
