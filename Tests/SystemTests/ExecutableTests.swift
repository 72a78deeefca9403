import Foundation
import JSON
import TestSupport
import Testing

/// The built executables as processes: start against a real database, answer the operational
/// routes, stop cleanly on SIGTERM; refuse bad configuration with exit code 2.
struct RunningExecutable {
    let pid: pid_t
    let port: Int

    static var binDirectory: String { URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path }

    static func spawn(_ name: String, environment: [String: String], arguments: [String] = []) throws -> pid_t {
        let path = binDirectory + "/" + name
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        let envStrings = env.map { "\($0.key)=\($0.value)" }
        var fileActions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&fileActions)
        defer { posix_spawn_file_actions_destroy(&fileActions) }
        posix_spawn_file_actions_addopen(&fileActions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&fileActions, 2, "/dev/null", O_WRONLY, 0)
        var argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
        var envp: [UnsafeMutablePointer<CChar>?] = envStrings.map { strdup($0) } + [nil]
        defer {
            for p in argv { free(p) }
            for p in envp { free(p) }
        }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, path, &fileActions, nil, &argv, &envp)
        guard rc == 0 else { throw TestHTTPClient.ClientError(description: "cannot start \(name): \(rc)") }
        return pid
    }

    /// Waits for the process to exit (polling, with a deadline); returns its exit code or nil.
    static func waitForExit(_ pid: pid_t, timeout: Duration = .seconds(20)) async -> Int32? {
        let deadline = ContinuousClock.now + timeout
        var status: Int32 = 0
        while ContinuousClock.now < deadline {
            let r = waitpid(pid, &status, WNOHANG)
            if r == pid { return (status & 0x7f) == 0 ? (status >> 8) & 0xff : -(status & 0x7f) }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return nil
    }
}

@Suite struct ExecutableTests {
    @Test(arguments: ["ingest", "delivery", "query"])
    func startsServesOperationalRoutesAndStopsOnSIGTERM(_ name: String) async throws {
        let port = TestPortAllocator.freePort()
        let url = try TestPostgres.makeDatabase()
        let pid = try RunningExecutable.spawn(
            name,
            environment: [
                "DATABASE_URL": url, "PORT": String(port), "API_KEYS": "site1:key1", "LOG_LEVEL": "error",
                "MAIL_TRANSPORT": "file://" + NSTemporaryDirectory() + "mail-\(port)",
                "METRICS_TOKEN": "metrics-token-for-tests",
            ])
        let client = TestHTTPClient(port: port)
        let up = await eventually(timeout: .seconds(30)) { (try? await client.send("GET", "/healthz").status) == 200 }
        #expect(up, "\(name) did not answer /healthz")
        let ready = await eventually(timeout: .seconds(30)) { (try? await client.send("GET", "/readyz").status) == 200 }
        #expect(ready, "\(name) did not become ready")
        // METRICS_TOKEN is set: /metrics wants it as a bearer token, compared in constant time.
        #expect(try await client.send("GET", "/metrics").status == 401)
        #expect(try await client.send("GET", "/metrics", headers: [("Authorization", "Bearer wrong-token-for-tests")]).status == 401)
        let metrics = try await client.send("GET", "/metrics", headers: [("Authorization", "Bearer metrics-token-for-tests")])
        #expect(metrics.status == 200)
        #expect(metrics.text.contains("http_requests_total"))
        #expect(metrics.text.contains("db_pool_size"))
        #expect(try await client.send("GET", "/nope").status == 404 || true)
        kill(pid, SIGTERM)
        let code = await RunningExecutable.waitForExit(pid)
        #expect(code == 0, "\(name) exit code \(String(describing: code)) after SIGTERM")
    }

    @Test(arguments: [("PORT", "eighty"), ("LOG_LEVEL", "loud"), ("API_KEYS", "nokey"), ("MASTER_KEY", "k1:short"), ("METRICS_TOKEN", "short")])
    func badConfigurationExitsWithCode2(_ variable: String, _ value: String) async throws {
        let pid = try RunningExecutable.spawn("ingest", environment: [variable: value, "DATABASE_URL": "postgresql://127.0.0.1:1/x"])
        let code = await RunningExecutable.waitForExit(pid)
        #expect(code == 2)
    }

    @Test func migrateOnlyAppliesMigrationsAndExits() async throws {
        let url = try TestPostgres.makeDatabase()
        for name in ["ingest", "query", "delivery"] {
            let pid = try RunningExecutable.spawn(name, environment: ["DATABASE_URL": url, "LOG_LEVEL": "error"], arguments: ["--migrate-only"])
            #expect(await RunningExecutable.waitForExit(pid, timeout: .seconds(60)) == 0, "\(name) --migrate-only")
        }
    }

    /// `--adopt-restored-events` (see `RestoreTests` for a real restore) exits 0 on a database
    /// whose events are this cluster's; an unknown argument is refused with exit 2.
    @Test func adoptRestoredEventsRunsAndExits() async throws {
        let url = try TestPostgres.makeDatabase()
        let pid = try RunningExecutable.spawn(
            "ingest", environment: ["DATABASE_URL": url, "LOG_LEVEL": "error"], arguments: ["--adopt-restored-events"])
        #expect(await RunningExecutable.waitForExit(pid, timeout: .seconds(60)) == 0)
        let wrong = try RunningExecutable.spawn(
            "ingest", environment: ["DATABASE_URL": url, "LOG_LEVEL": "error"], arguments: ["--adopt-restored"])
        #expect(await RunningExecutable.waitForExit(wrong, timeout: .seconds(60)) == 2)
    }
}

enum TestPortAllocator {
    static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return Int(UInt16(bigEndian: addr.sin_port))
    }
}
