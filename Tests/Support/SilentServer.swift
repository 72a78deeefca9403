import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A TCP server on loopback that accepts connections and never writes to them, until `stop()`
/// closes them all (the peers then read the end of the stream).
public final class SilentServer: @unchecked Sendable {
    // @unchecked Sendable: `connections` and `stopped` are behind `accepted`; `listener` and
    // `port` are set once.
    /// The port it listens on.
    public let port: Int
    private let listener: Int32
    private let accepted = NSLock()
    private var connections: [Int32] = []
    private var stopped = false
    private let done = DispatchSemaphore(value: 0)

    /// Starts listening on an ephemeral loopback port.
    public init() throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, length) == 0 && getsockname(listener, $0, &length) == 0
            }
        }
        guard bound, listen(listener, 64) == 0 else {
            close(listener)
            throw POSIXError(.EADDRNOTAVAIL)
        }
        self.listener = listener
        port = Int(UInt16(bigEndian: address.sin_port))
        Thread { [self] in
            while true {
                let fd = accept(listener, nil, nil)
                if fd < 0 { break }  // the listener was shut down
                accepted.withLock { connections.append(fd) }
            }
            done.signal()
        }.start()
    }

    /// Stops accepting and closes every connection. Calling it again does nothing.
    public func stop() {
        let first = accepted.withLock { () -> Bool in
            defer { stopped = true }
            return !stopped
        }
        guard first else { return }
        shutdown(listener, Int32(SHUT_RDWR))
        done.wait()
        close(listener)
        accepted.withLock {
            for fd in connections { close(fd) }
            connections = []
        }
    }
}
