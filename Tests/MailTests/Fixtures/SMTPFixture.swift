import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A message as the fixture server received and parsed it (see `smtpFixtureScript`).
struct ReceivedMessage: Decodable {
    struct Mailbox: Decodable, Equatable {
        var name: String
        var address: String
    }
    var mail_from: String
    var rcpt_tos: [String]
    var mail_options: [String]
    var peer_port: Int
    var tls: Bool
    var authenticated: Bool
    var subject: String
    var from: [Mailbox]
    var reply_to: [Mailbox]
    var to: [Mailbox]
    var cc: [Mailbox]
    var has_bcc_header: Bool
    var message_id: String
    var date: String
    var content_type: String
    var text: String?
    var html: String?
    var headers: [String: String]
    var defects: [String]
    var max_line_length: Int
    var raw: String
}

/// Errors of the test fixtures.
struct FixtureError: Error, CustomStringConvertible {
    var description: String
}

/// A temporary directory removed on deinit.
final class TemporaryDirectory {
    let path: String

    init() throws {
        let path = NSTemporaryDirectory() + "mailtests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        self.path = path
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// Runs a program to completion and fails when it exits non-zero.
func runProgram(_ executable: String, _ arguments: [String]) throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [executable] + arguments
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else { throw FixtureError(description: "\(executable) failed") }
}

/// A throwaway self-signed certificate for `localhost` and `127.0.0.1`, made with the openssl CLI.
struct ThrowawayCertificate {
    let certificatePath: String
    let keyPath: String

    init(in directory: TemporaryDirectory) throws {
        certificatePath = directory.path + "/cert.pem"
        keyPath = directory.path + "/key.pem"
        try runProgram(
            "openssl",
            [
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", keyPath, "-out", certificatePath, "-days", "1", "-subj", "/CN=localhost",
                "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
            ])
    }
}

/// A free TCP port on loopback (bound to port 0 and released).
func freeLoopbackPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw FixtureError(description: "socket failed") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
            bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
        }
    }
    guard bound else { throw FixtureError(description: "bind failed") }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// Whether something accepts TCP connections on 127.0.0.1:port.
func loopbackPortAccepts(_ port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
        }
    }
}

/// The aiosmtpd fixture server as a subprocess on a free loopback port; killed on `stop()`
/// or deinit.
final class SMTPFixture {
    enum Mode: String {
        case sink
        case failFirst = "fail-first"
        case reject
        /// Refuses only recipients whose address starts with `unknown@`.
        case rejectUnknown = "reject-unknown"
        /// Refuses the first MAIL FROM (451), accepts the rest.
        case rejectFirstSender = "reject-first-sender"
        /// Records each message, then holds the 250 for a second.
        case slow
    }

    let directory: TemporaryDirectory
    let port: Int
    private let process: Process
    private let stdin = Pipe()

    var outputPath: String { directory.path + "/out" }

    /// Starts the server and waits (up to 10 s) until its port accepts connections.
    init(
        mode: Mode = .sink, startTLS: ThrowawayCertificate? = nil, implicitTLS: ThrowawayCertificate? = nil,
        auth: (user: String, password: String)? = nil, port: Int? = nil, directory: TemporaryDirectory? = nil,
        pipelining: Bool = false
    ) throws {
        let directory = try directory ?? TemporaryDirectory()
        self.directory = directory
        self.port = try port ?? freeLoopbackPort()
        let script = directory.path + "/smtp_server.py"
        try smtpFixtureScript.write(toFile: script, atomically: true, encoding: .utf8)
        var arguments = [script, "--port", String(self.port), "--out", directory.path + "/out", "--mode", mode.rawValue]
        if let startTLS { arguments += ["--starttls", startTLS.certificatePath, startTLS.keyPath] }
        if let implicitTLS { arguments += ["--implicit-tls", implicitTLS.certificatePath, implicitTLS.keyPath] }
        if let auth { arguments += ["--auth", "\(auth.user):\(auth.password)"] }
        if pipelining { arguments.append("--pipelining") }
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3"] + arguments
        process.standardInput = stdin
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(10)
        while !loopbackPortAccepts(self.port) {
            guard process.isRunning, Date() < deadline else {
                stop()
                throw FixtureError(description: "SMTP fixture did not start (is aiosmtpd installed?)")
            }
            usleep(20_000)  // poll interval, bounded by the deadline above
        }
    }

    /// Kills the server and waits for it to exit.
    func stop() {
        if process.isRunning {
            try? stdin.fileHandleForWriting.close()
            process.terminate()
            process.waitUntilExit()
        }
    }

    deinit {
        stop()
    }

    /// The messages received so far, in order.
    func received() throws -> [ReceivedMessage] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: outputPath)) ?? []
        return try names.filter { $0.hasSuffix(".json") }.sorted().map { name in
            let data = try Data(contentsOf: URL(fileURLWithPath: outputPath + "/" + name))
            return try JSONDecoder().decode(ReceivedMessage.self, from: data)
        }
    }
}
