import JSON

extension HTTPRequest {
    /// The media type of `Content-Type`, lowercased, without parameters.
    public var mediaType: String? {
        guard let raw = headers["Content-Type"] else { return nil }
        let type = raw.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        return type.trimmingASCIISpaces().lowercased()
    }

    /// The JSON body. 400 "body required" when empty, 415 unless `Content-Type` is
    /// `application/json` (parameters such as `charset` allowed), 400 when malformed.
    public func decodeJSONBody() throws(HTTPError) -> JSON {
        guard !body.isEmpty else { throw HTTPError(.badRequest, "body required") }
        guard mediaType == "application/json" else {
            throw HTTPError(.unsupportedMediaType, "Content-Type must be application/json")
        }
        return try parseJSONBody()
    }

    /// The form body as a `JSON.object` (see `FormDecoder`). 400 "body required" when empty, 415
    /// unless `Content-Type` is `application/x-www-form-urlencoded`.
    public func decodeFormBody() throws(HTTPError) -> JSON {
        guard !body.isEmpty else { throw HTTPError(.badRequest, "body required") }
        guard mediaType == "application/x-www-form-urlencoded" else {
            throw HTTPError(.unsupportedMediaType, "Content-Type must be application/x-www-form-urlencoded")
        }
        return try FormDecoder.decode(body)
    }

    /// The body decoded by its content type (JSON or form), or nil when there is no body
    /// (whatever `Content-Type` says, so a bodiless GET or DELETE is fine). 415 for other types.
    public func decodeBody() throws(HTTPError) -> JSON? {
        guard !body.isEmpty else { return nil }
        switch mediaType {
        case "application/json": return try parseJSONBody()
        case "application/x-www-form-urlencoded": return try FormDecoder.decode(body)
        default:
            throw HTTPError(
                .unsupportedMediaType, "Content-Type must be application/json or application/x-www-form-urlencoded")
        }
    }

    /// Like `decodeBody()`, but an absent body is 400 "body required".
    public func decodeRequiredBody() throws(HTTPError) -> JSON {
        guard let value = try decodeBody() else { throw HTTPError(.badRequest, "body required") }
        return value
    }

    private func parseJSONBody() throws(HTTPError) -> JSON {
        let parsed: (value: JSON, containsNUL: Bool)
        do {
            parsed = try JSON.parseNoticingNUL(body)
        } catch {
            throw HTTPError(.badRequest, "malformed JSON body: \(error.description)")
        }
        // PostgreSQL text cannot hold U+0000: refuse it here, before anything is appended that a
        // projection could not store.
        if parsed.containsNUL { throw HTTPError(.badRequest, "strings must not contain the NUL character (\\u0000)") }
        return parsed.value
    }
}

extension StringProtocol {
    func trimmingASCIISpaces() -> Substring {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return s
    }
}
