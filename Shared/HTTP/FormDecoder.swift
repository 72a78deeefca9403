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
        root.content = .object(FormNode.Members())
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

/// The tree a form is decoded into before it becomes `JSON`: nodes are mutated in place and
/// object keys are hashed, so decoding stays linear in the body size (rebuilding `JSON` values
/// per pair, with their linear key lookup, made a large hostile form quadratic).
private final class FormNode {
    struct Members {
        var order: [String] = []
        var children: [String: FormNode] = [:]
    }

    enum Content {
        case null
        case string(String)
        case array([FormNode])
        case object(Members)
    }

    var content = Content.null

    /// Sets the value at `path` below this node: an empty component appends to an array, any
    /// other selects an object member; a node of the other kind is replaced. A later value wins.
    func insert(_ value: String, at path: ArraySlice<String>) {
        var node = self
        var path = path
        while let key = path.first {
            path = path.dropFirst()
            if key.isEmpty {
                let child = FormNode()
                var items: [FormNode] = []
                if case .array(let existing) = node.content { items = existing }
                node.content = .null  // drop the second reference so appending does not copy
                items.append(child)
                node.content = .array(items)
                node = child
            } else {
                var members = Members()
                if case .object(let existing) = node.content { members = existing }
                node.content = .null
                let next: FormNode
                if let existing = members.children[key] {
                    next = existing
                } else {
                    next = FormNode()
                    members.children[key] = next
                    members.order.append(key)
                }
                node.content = .object(members)
                node = next
            }
        }
        node.content = .string(value)
    }

    var json: JSON {
        switch content {
        case .null: return .null
        case .string(let s): return .string(s)
        case .array(let items): return .array(items.map(\.json))
        case .object(let members):
            return .object(JSONObject(members.order.map { ($0, members.children[$0]!.json) }))
        }
    }
}
