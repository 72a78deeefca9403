/// How a deferred handler (`Router.deferred`) answers its request, from any thread: call
/// `respond(_:)` exactly once. The server writes the answer in request order on the
/// connection's I/O thread; an answer for a connection that has closed meanwhile is dropped.
public struct HTTPResponder: Sendable {
    private let deliver: @Sendable (HTTPResponse) -> Void

    /// - Parameter deliver: hands the response to whoever waits for it (the I/O loop, or a test).
    public init(_ deliver: @escaping @Sendable (HTTPResponse) -> Void) { self.deliver = deliver }

    /// Answers the request.
    public func respond(_ response: HTTPResponse) { deliver(response) }

    /// Runs `work` as a Task and answers with its result, or with the error it throws mapped to
    /// its status: how the server runs async handlers, and the way back to that path when a
    /// deferred handler finds it has to wait for something.
    public func respondLater(_ work: @escaping @Sendable () async throws -> HTTPResponse) {
        let deliver = self.deliver
        Task {
            do { deliver(try await work()) } catch { deliver(.from(error: error)) }
        }
    }
}
