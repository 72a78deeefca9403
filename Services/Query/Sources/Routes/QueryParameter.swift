import HTTP

/// Parses optional integer query parameters, with a 400 that says which one and why.
enum QueryParameter {
    /// The integer `name`, `defaultValue` when absent; 400 when not an integer in `range`.
    static func int(_ query: HTTPQuery, _ name: String, default defaultValue: Int, in range: ClosedRange<Int>)
        throws(HTTPError) -> Int
    {
        guard let text = query[name] else { return defaultValue }
        guard let value = Int(text), range.contains(value) else {
            throw HTTPError(
                .badRequest, "\(name) must be an integer between \(range.lowerBound) and \(range.upperBound)")
        }
        return value
    }

    /// The unix timestamp (seconds) `name`, nil when absent; 400 when not a non-negative integer.
    static func timestamp(_ query: HTTPQuery, _ name: String) throws(HTTPError) -> Int64? {
        guard let text = query[name] else { return nil }
        // Bounded (before the year 3000) so that converting to milliseconds cannot overflow.
        guard let value = Int64(text), value >= 0, value < 32_503_680_000 else {
            throw HTTPError(.badRequest, "\(name) must be a unix timestamp in seconds (a non-negative integer before the year 3000)")
        }
        return value
    }
}
