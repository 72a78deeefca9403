import Foundation
import Glibc
import JSON

/// A minimal blocking HTTP/1.1 client over loopback for integration tests: one request per
/// connection (`Connection: close`), raw bytes in and out, so tests see exactly what the server
/// sends.
public struct TestHTTPClient: Sendable {
    public let port: Int
    /// Default credentials (Basic `user:password`), or nil.
    public var basicAuth: (String, String)?

    public init(port: Int, basicAuth: (String, String)? = nil) {
        self.port = port
        self.basicAuth = basicAuth
    }

    public struct Response: Sendable {
        public let status: Int
        public let headers: [(String, String)]
        public let body: [UInt8]

        public func header(_ name: String) -> String? {
            headers.first { $0.0.lowercased() == name.lowercased() }?.1
        }
        public var text: String { String(decoding: body, as: UTF8.self) }
        /// The body parsed as JSON (`.null` when it is not JSON).
        public var json: JSON { (try? JSON.parse(body)) ?? .null }
    }

    /// Sends a request with a JSON body.
    public func send(_ method: String, _ path: String, json: JSON, headers: [(String, String)] = []) async throws -> Response {
        try await send(method, path, body: json.bytes, headers: [("Content-Type", "application/json")] + headers)
    }

    /// Sends a request with a form body built from `fields` (already `key=value` pairs, unencoded).
    public func send(_ method: String, _ path: String, form fields: [(String, String)], headers: [(String, String)] = [])
        async throws -> Response
    {
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~"))
        let body = fields.map {
            ($0.0.addingPercentEncoding(withAllowedCharacters: allowed) ?? "") + "="
                + ($0.1.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")
        }.joined(separator: "&")
        return try await send(
            method, path, body: Array(body.utf8), headers: [("Content-Type", "application/x-www-form-urlencoded")] + headers)
    }

    /// Sends a request and reads the whole response.
    public func send(_ method: String, _ path: String, body: [UInt8] = [], headers: [(String, String)] = []) async throws
        -> Response
    {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n"
        var names = Set<String>()
        for (n, v) in headers {
            head += "\(n): \(v)\r\n"
            names.insert(n.lowercased())
        }
        if let (u, p) = basicAuth, !names.contains("authorization") {
            head += "Authorization: Basic \(Data("\(u):\(p)".utf8).base64EncodedString())\r\n"
        }
        if !body.isEmpty || method == "POST" || method == "PUT" { head += "Content-Length: \(body.count)\r\n" }
        head += "\r\n"
        let request = Array(head.utf8) + body
        let port = self.port
        return try await withCheckedThrowingContinuation { continuation in
            let t = Thread {
                do { continuation.resume(returning: try Self.exchange(port: port, request: request)) } catch {
                    continuation.resume(throwing: error)
                }
            }
            t.start()
        }
    }

    public struct ClientError: Error, CustomStringConvertible {
        public let description: String
        public init(description: String) { self.description = description }
    }

    static func exchange(port: Int, request: [UInt8]) throws -> Response {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ClientError(description: "socket failed") }
        defer { close(fd) }
        var tv = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = UInt16(port).bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else { throw ClientError(description: "connect failed: \(errno)") }
        var sent = 0
        while sent < request.count {
            let n = request[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw ClientError(description: "send failed") }
            sent += n
        }
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            data += buffer[0..<n]
        }
        return try parse(data)
    }

    static func parse(_ data: [UInt8]) throws -> Response {
        let separator: [UInt8] = [13, 10, 13, 10]
        guard let end = data.firstRange(of: separator) else { throw ClientError(description: "no response head") }
        let head = String(decoding: data[..<end.lowerBound], as: UTF8.self)
        var lines = head.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst().split(separator: " ")
        guard statusLine.count >= 2, let status = Int(statusLine[1]) else { throw ClientError(description: "bad status line") }
        var headers: [(String, String)] = []
        for l in lines {
            guard let colon = l.firstIndex(of: ":") else { continue }
            headers.append((String(l[..<colon]), l[l.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
        }
        var body = Array(data[end.upperBound...])
        if headers.contains(where: { $0.0.lowercased() == "transfer-encoding" && $0.1.lowercased().contains("chunked") }) {
            body = dechunk(body)
        } else if let cl = headers.first(where: { $0.0.lowercased() == "content-length" }).flatMap({ Int($0.1) }) {
            body = Array(body.prefix(cl))
        }
        return Response(status: status, headers: headers, body: body)
    }

    static func dechunk(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        var i = 0
        while i < data.count {
            guard let lineEnd = data[i...].firstRange(of: [13, 10]) else { break }
            let sizeText = String(decoding: data[i..<lineEnd.lowerBound], as: UTF8.self).split(separator: ";")[0]
            guard let size = Int(sizeText, radix: 16), size > 0 else { break }
            let start = lineEnd.upperBound
            out += data[start..<min(start + size, data.count)]
            i = start + size + 2
        }
        return out
    }
}

/// Polls `condition` until it holds or `timeout` passes; returns whether it held.
public func eventually(timeout: Duration = .seconds(10), _ condition: () async throws -> Bool) async rethrows -> Bool {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while clock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return try await condition()
}

/// The value of one series in a Prometheus text exposition (`series` as it is written there,
/// labels included: `name` or `name{label="value"}`), or nil when it is not there.
public func metricValue(_ exposition: String, _ series: String) -> Double? {
    for line in exposition.split(separator: "\n") where line.hasPrefix(series + " ") {
        return Double(line.dropFirst(series.count + 1))
    }
    return nil
}
