/// How a deferred handler (`Router.deferred`) answers its request, from any thread: call
/// `respond(_:)` exactly once. The server writes the answer in request order on the
/// connection's I/O thread; an answer for a connection that has closed meanwhile is dropped.
public struct HTTPResponder: Sendable {
    private let deliver: @Sendable (HTTPResponse) -> Void

    /// - Parameter deliver: hands the response to whoever waits for it (the I/O loop, or a test).
    public init(_ deliver: @escaping @Sendable (HTTPResponse) -> Void) { self.deliver = deliver }

    /// Answers the request.
    public func respond(_ response: HTTPResponse) { deliver(response) }

    /// Answers with what `work` returns, or with the error it throws mapped to its status
    /// (as the server maps a handler's error).
    public func respond(catching work: () throws -> HTTPResponse) {
        do { deliver(try work()) } catch { deliver(.from(error: error)) }
    }

    /// Runs `work` as a Task and answers with its result: the way back to the ordinary async path
    /// when a deferred handler finds it has to wait for something.
    public func respondLater(_ work: @escaping @Sendable () async throws -> HTTPResponse) {
        let deliver = self.deliver
        Task {
            do { deliver(try await work()) } catch { deliver(.from(error: error)) }
        }
    }
}
