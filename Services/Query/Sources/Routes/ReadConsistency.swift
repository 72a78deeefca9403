import Foundation
import EventStore
import HTTP
import Service

/// Read-your-writes: a request carrying `X-Consistency-Token` (from a write's response) waits
/// until every projection of the app includes that write, then runs `handler`. A token that is
/// not one is a 400; a read model that does not catch up in time is a 503.
struct ReadConsistency {
    static let header = "X-Consistency-Token"
    let app: ServiceApp

    func wrap(_ handler: @escaping AsyncHTTPHandler) -> AsyncHTTPHandler {
        let app = self.app
        return { request, context in
            if let text = request.headers[Self.header] {
                guard let token = Checkpoint(token: text.trimmingCharacters(in: .whitespaces)) else {
                    throw HTTPError(.badRequest, "\(Self.header) is not a valid consistency token")
                }
                try await app.waitForConsistency(token)
            }
            return try await handler(request, context)
        }
    }
}
