import CCrypto
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Why the connection failed. Descriptions never contain message data.
public enum SMTPConnectionError: Error, Sendable, CustomStringConvertible {
    /// The host name did not resolve.
    case resolutionFailed(host: String)
    /// No address accepted the connection (refused, unreachable, timed out).
    case connectFailed(String)
    /// The server did not answer within the timeout.
    case timedOut
    /// The server closed the connection.
    case closedByServer
    /// A read or write failed (for example, connection reset).
    case ioFailed(String)
    /// The TLS handshake or a TLS read/write failed.
    case tls(String)

    public var description: String {
        switch self {
        case .resolutionFailed(let host): "cannot resolve \(host)"
        case .connectFailed(let reason): "connect failed: \(reason)"
        case .timedOut: "timed out waiting for the server"
        case .closedByServer: "connection closed by the server"
        case .ioFailed(let reason): "connection error: \(reason)"
        case .tls(let reason): "TLS error: \(reason)"
        }
    }
}

/// A blocking TCP connection with timeouts, optionally upgraded to TLS through libssl.
///
/// TLS runs over memory BIOs and this type moves the bytes with `send(MSG_NOSIGNAL)` and
/// `recv`, so a peer that goes away never raises SIGPIPE. Not thread-safe: one owner at a time.
final class SMTPConnection {
    private var fd: Int32
    private var ssl: OpaquePointer?
    private var readBIO: OpaquePointer?
    private var writeBIO: OpaquePointer?
    /// Ciphertext moved between the socket and the memory BIOs (kept: allocated once, on the
    /// first TLS operation, instead of for every read and write).
    private lazy var tlsBuffer = [UInt8](repeating: 0, count: 16_384)
    private let host: String

    /// Connects to `host:port`, trying each resolved address within `connectTimeout` seconds;
    /// reads and writes then time out after `ioTimeout` seconds.
    init(host: String, port: Int, connectTimeout: Double, ioTimeout: Double) throws(SMTPConnectionError) {
        self.host = host
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_protocol = Int32(IPPROTO_TCP)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &list) == 0, let first = list else {
            throw .resolutionFailed(host: host)
        }
        defer { freeaddrinfo(list) }
        var lastError = "no address"
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let info = entry {
            entry = info.pointee.ai_next
            let socketFD = socket(info.pointee.ai_family, info.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), info.pointee.ai_protocol)
            guard socketFD >= 0 else {
                lastError = String(cString: strerror(errno))
                continue
            }
            if let failure = Self.connect(socketFD, info.pointee.ai_addr, info.pointee.ai_addrlen, timeout: connectTimeout) {
                lastError = failure
                _ = Glibc.close(socketFD)
                continue
            }
            var noDelay: Int32 = 1
            setsockopt(socketFD, Int32(IPPROTO_TCP), TCP_NODELAY, &noDelay, socklen_t(MemoryLayout<Int32>.size))
            var tv = timeval(tv_sec: Int(ioTimeout), tv_usec: Int((ioTimeout - ioTimeout.rounded(.down)) * 1_000_000))
            setsockopt(socketFD, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            setsockopt(socketFD, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            fd = socketFD
            return
        }
        throw .connectFailed(lastError)
    }

    /// Non-blocking connect, then poll for writability up to the timeout; nil on success.
    private static func connect(_ fd: Int32, _ address: UnsafeMutablePointer<sockaddr>?, _ length: socklen_t, timeout: Double) -> String? {
        let flags = fcntl(fd, F_GETFL, 0)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
        defer { _ = fcntl(fd, F_SETFL, flags) }
        if Glibc.connect(fd, address, length) == 0 { return nil }
        guard errno == EINPROGRESS else { return String(cString: strerror(errno)) }
        var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let remaining = Int32(max(0, deadline.timeIntervalSinceNow * 1000))
            let ready = poll(&pfd, 1, remaining)
            if ready < 0, errno == EINTR { continue }
            if ready == 0 { return "timed out" }
            if ready < 0 { return String(cString: strerror(errno)) }
            break
        }
        var error: Int32 = 0
        var size = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size)
        return error == 0 ? nil : String(cString: strerror(error))
    }

    deinit {
        close()
    }

    /// Closes the connection (and frees the TLS state). Safe to call twice.
    func close() {
        if let ssl {
            SSL_free(ssl)  // frees both BIOs
            self.ssl = nil
        }
        if fd >= 0 {
            _ = Glibc.close(fd)
            fd = -1
        }
    }

    // MARK: TLS

    /// Runs the TLS client handshake: SNI for host names, certificate and host name (or IP)
    /// verification when the context verifies.
    func startTLS(_ context: TLSContext) throws(SMTPConnectionError) {
        guard let ssl = SSL_new(context.context) else { throw .tls(TLSError("SSL_new failed").description) }
        guard let readBIO = BIO_new(BIO_s_mem()), let writeBIO = BIO_new(BIO_s_mem()) else {
            SSL_free(ssl)
            throw .tls("BIO_new failed")
        }
        SSL_set_bio(ssl, readBIO, writeBIO)
        self.ssl = ssl
        self.readBIO = readBIO
        self.writeBIO = writeBIO
        var address = in6_addr()
        let isIPv4 = inet_pton(AF_INET, host, &address) == 1
        let isIPv6 = inet_pton(AF_INET6, host, &address) == 1
        if isIPv4 || isIPv6 {
            if context.verifies, X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host) != 1 {
                throw .tls(TLSError("cannot set the IP address to verify").description)
            }
        } else {
            _ = host.withCString { name in
                SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, Int(TLSEXT_NAMETYPE_host_name), UnsafeMutableRawPointer(mutating: name))
            }
            if context.verifies, SSL_set1_host(ssl, host) != 1 {
                throw .tls(TLSError("cannot set the host name to verify").description)
            }
        }
        SSL_set_connect_state(ssl)
        do {
            _ = try drive { SSL_do_handshake(ssl) }
        } catch {
            let result = SSL_get_verify_result(ssl)
            if context.verifies, result != Int(X509_V_OK) {
                throw .tls("certificate verification failed: \(String(cString: X509_verify_cert_error_string(result)))")
            }
            throw error
        }
    }

    /// Repeats a TLS operation, moving bytes between the memory BIOs and the socket, until it
    /// completes. Returns its positive result, or 0 when the peer closed TLS.
    private func drive(_ operation: () -> Int32) throws(SMTPConnectionError) -> Int32 {
        guard let ssl else { throw .tls("no TLS session") }
        while true {
            ERR_clear_error()
            let result = operation()
            try flushTLSOutput()
            if result > 0 { return result }
            let error = SSL_get_error(ssl, result)
            switch error {
            case SSL_ERROR_WANT_READ:
                let count = try receiveRaw(&tlsBuffer)
                if count == 0 { throw .closedByServer }
                _ = tlsBuffer.withUnsafeBytes { BIO_write(readBIO, $0.baseAddress, Int32(count)) }
            case SSL_ERROR_WANT_WRITE:
                continue
            case SSL_ERROR_ZERO_RETURN:
                return 0
            default:
                throw .tls(TLSError("TLS failure").description)
            }
        }
    }

    private func flushTLSOutput() throws(SMTPConnectionError) {
        while BIO_ctrl_pending(writeBIO) > 0 {
            let count = tlsBuffer.withUnsafeMutableBytes { BIO_read(writeBIO, $0.baseAddress, Int32($0.count)) }
            guard count > 0 else { break }
            try sendRaw(tlsBuffer[0..<Int(count)])
        }
    }

    // MARK: Reading and writing

    /// Writes all bytes (through TLS when active).
    func write(_ bytes: [UInt8]) throws(SMTPConnectionError) {
        guard let ssl else {
            try sendRaw(bytes[...])
            return
        }
        var offset = 0
        while offset < bytes.count {
            let count = Int32(min(bytes.count - offset, 16_384))
            let written = try drive { bytes.withUnsafeBytes { SSL_write(ssl, $0.baseAddress! + offset, count) } }
            if written == 0 { throw .closedByServer }
            offset += Int(written)
        }
    }

    /// Acknowledges what has arrived at once instead of after the delayed-ACK timer. Between the
    /// replies of a pipelined group a server that writes each reply separately with Nagle's
    /// algorithm on holds the next one until our ACK: without this every message would wait
    /// ~40 ms for the timer. The setting is not sticky; call it before each such read.
    func acknowledgeNow() {
        var on: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_QUICKACK, &on, socklen_t(MemoryLayout<Int32>.size))
    }

    /// Reads some bytes (through TLS when active); 0 means the server closed the connection.
    func read(into buffer: inout [UInt8]) throws(SMTPConnectionError) -> Int {
        guard let ssl else { return try receiveRaw(&buffer) }
        let count = try drive { buffer.withUnsafeMutableBytes { SSL_read(ssl, $0.baseAddress, Int32($0.count)) } }
        return Int(count)
    }

    private func sendRaw(_ bytes: ArraySlice<UInt8>) throws(SMTPConnectionError) {
        var offset = bytes.startIndex
        while offset < bytes.endIndex {
            let sent = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if sent < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN || errno == EWOULDBLOCK { throw .timedOut }
                throw .ioFailed(String(cString: strerror(errno)))
            }
            offset += sent
        }
    }

    private func receiveRaw(_ buffer: inout [UInt8]) throws(SMTPConnectionError) -> Int {
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count >= 0 { return count }
            if errno == EINTR { continue }
            if errno == EAGAIN || errno == EWOULDBLOCK { throw .timedOut }
            throw .ioFailed(String(cString: strerror(errno)))
        }
    }
}
