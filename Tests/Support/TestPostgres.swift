import Foundation
import Postgres

/// A throwaway PostgreSQL cluster for the test process, or the server named by `DATABASE_URL`.
/// Each test asks for its own fresh database, so tests run in parallel without seeing each other.
public enum TestPostgres {
    /// The admin URL of the cluster (started on first use).
    public static func adminURL() throws -> String {
        try TestCluster.shared.get()
    }

    /// Creates a new empty database and returns its URL.
    public static func makeDatabase() throws -> String {
        let admin = try adminURL()
        let name = "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(20).lowercased()
        let connection = try PostgresConnection(url: admin)
        defer { connection.close() }
        try connection.execute("CREATE DATABASE \(name)")
        return TestCluster.replaceDatabase(in: admin, with: name)
    }
}

/// Starts one cluster per test process. As root (CI), the cluster runs as the `postgres` user,
/// since PostgreSQL refuses to run as root.
final class TestCluster: Sendable {
    static let shared = TestCluster()
    let result: Result<String, TestClusterError>

    struct TestClusterError: Error, CustomStringConvertible {
        let description: String
    }

    func get() throws -> String { try result.get() }

    private init() {
        if let url = ProcessInfo.processInfo.environment["DATABASE_URL"], !url.isEmpty {
            result = .success(url)
            return
        }
        do {
            result = .success(try TestCluster.start())
        } catch let e as TestClusterError {
            result = .failure(e)
        } catch {
            result = .failure(TestClusterError(description: "\(error)"))
        }
    }

    static func replaceDatabase(in url: String, with name: String) -> String {
        guard var c = URLComponents(string: url) else { return url }
        c.path = "/" + name
        return c.string ?? url
    }

    nonisolated(unsafe) static var dataDirectory: String?
    nonisolated(unsafe) static var pgCtl: String?
    nonisolated(unsafe) static var asPostgresUser = false

    static func binDirectory() throws -> String {
        let fm = FileManager.default
        if let env = ProcessInfo.processInfo.environment["PG_BINDIR"] { return env }
        let base = "/usr/lib/postgresql"
        let versions = ((try? fm.contentsOfDirectory(atPath: base)) ?? []).compactMap(Int.init).sorted()
        if let v = versions.last, fm.fileExists(atPath: "\(base)/\(v)/bin/initdb") { return "\(base)/\(v)/bin" }
        throw TestClusterError(description: "PostgreSQL server binaries not found (install the postgresql package)")
    }

    /// Runs a program and waits for it (posix_spawn + waitpid: Foundation's Process can hang
    /// waiting for a child whose grandchildren, like the postmaster, keep running).
    static func run(_ args: [String], asPostgres: Bool) throws {
        let argv = asPostgres ? ["/usr/sbin/runuser", "-u", "postgres", "--"] + args : args
        var fileActions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&fileActions)
        defer { posix_spawn_file_actions_destroy(&fileActions) }
        posix_spawn_file_actions_addopen(&fileActions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&fileActions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&fileActions, 2, "/dev/null", O_WRONLY, 0)
        var cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { for p in cArgs { free(p) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, argv[0], &fileActions, nil, &cArgs, environ)
        guard rc == 0 else { throw TestClusterError(description: "cannot start \(argv[0]): \(rc)") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let exited = (status & 0x7f) == 0
        let code = (status >> 8) & 0xff
        guard exited && code == 0 else {
            throw TestClusterError(description: "\(args.first ?? "") failed with status \(status)")
        }
    }

    static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        _ = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    static func start() throws -> String {
        let bin = try binDirectory()
        let asPostgres = getuid() == 0
        let dir = NSTemporaryDirectory() + "mailplatform-pg-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        if asPostgres {
            try run(["/bin/chown", "postgres:postgres", dir], asPostgres: false)
        }
        try run(
            ["\(bin)/initdb", "-D", "\(dir)/data", "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8", "--locale=C"],
            asPostgres: asPostgres)
        let port = freePort()
        let options =
            "-p \(port) -k \(dir) -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections=2000 -c shared_buffers=128MB"
        try run(
            ["\(bin)/pg_ctl", "-D", "\(dir)/data", "-o", options, "-l", "\(dir)/log", "-w", "-t", "60", "start"],
            asPostgres: asPostgres)
        dataDirectory = dir
        pgCtl = "\(bin)/pg_ctl"
        asPostgresUser = asPostgres
        atexit {
            guard let dir = TestCluster.dataDirectory, let pgCtl = TestCluster.pgCtl else { return }
            try? TestCluster.run(
                [pgCtl, "-D", "\(dir)/data", "-m", "immediate", "-w", "stop"], asPostgres: TestCluster.asPostgresUser)
            try? FileManager.default.removeItem(atPath: dir)
        }
        return "postgresql://postgres@127.0.0.1:\(port)/postgres"
    }
}

/// Where the PostgreSQL client and server programs are (pg_dump for erasure tests).
public enum TestPostgresBinaries {
    public static func directory() throws -> String { try TestCluster.binDirectory() }

    /// Runs one of them (`pg_dump`, `pg_restore`) to completion as this process's user; throws
    /// unless it exits 0.
    public static func run(_ program: String, _ arguments: [String]) throws {
        try TestCluster.run([try directory() + "/" + program] + arguments, asPostgres: false)
    }
}
