import HTTP
import JSON

/// `/v1/...` endpoints answer errors as `{"Error": "..."}` (seed 003), not the sendwithus shape.
enum V1ErrorShape {
    static func run(_ body: () async throws -> HTTPResponse) async -> HTTPResponse {
        do {
            let response = try await body()
            guard response.status.code >= 400, case .object(let o)? = try? JSON.parse(response.body),
                let message = o["error"]?.stringValue
            else { return response }
            // A standard-shaped error produced below us (for example an idempotency replay refusal).
            return reshape(response, message)
        } catch {
            let standard = HTTPResponse.from(error: error)
            let message = (error as? any HTTPResponseError)?.httpMessage ?? "internal error"
            return reshape(standard, message)
        }
    }

    private static func reshape(_ response: HTTPResponse, _ message: String) -> HTTPResponse {
        var r = HTTPResponse.json(["Error": .string(message)], status: response.status)
        for (name, value) in response.headers where name.lowercased() != "content-type" { r.headers.add(name, value) }
        return r
    }
}
