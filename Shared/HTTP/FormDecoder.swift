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
        var root = JSON.object(JSONObject())
        for pair in body.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            let (rawKey, rawValue) = splitOnce(pair, UInt8(ascii: "="))
            guard let key = PercentDecoding.decode(rawKey, plusAsSpace: true),
                let value = PercentDecoding.decode(rawValue, plusAsSpace: true)
            else { throw HTTPError(.badRequest, "invalid form encoding") }
            let path = try keyPath(key)
            root = insert(.string(value), at: path[...], into: root)
        }
        return root
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

    private static func insert(_ value: JSON, at path: ArraySlice<String>, into node: JSON) -> JSON {
        guard let key = path.first else { return value }
        let rest = path.dropFirst()
        if key.isEmpty {
            var array = node.arrayValue ?? []
            array.append(insert(value, at: rest, into: .null))
            return .array(array)
        }
        var object = node.objectValue ?? JSONObject()
        object[key] = insert(value, at: rest, into: object[key] ?? .null)
        return .object(object)
    }
}
