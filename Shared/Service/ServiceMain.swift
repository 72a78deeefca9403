import Dispatch
import EventStore
import Foundation
import HTTP

/// How an executable describes itself to `ServiceMain`.
public protocol ServiceDefinition {
    /// The executable's name (`ingest`, `delivery`, `query`).
    static var name: String { get }
    /// Its default port.
    static var defaultPort: Int { get }
    /// Its own migrations (read tables).
    static var migrations: [Migration] { get }
    /// Builds the routes and registers projections and workers on `app`.
    static func build(_ app: ServiceApp) throws -> Router
}

extension ServiceDefinition {
    /// Creates, migrates and starts the app (tests call this with port 0).
    public static func start(configuration: ServiceConfiguration, port: Int? = nil, logSink: (@Sendable (String) -> Void)? = nil)
        async throws -> ServiceApp
    {
        let app = ServiceApp(name: name, configuration: configuration, logSink: logSink)
        do {
            try await app.migrate(component: name, migrations: migrations)
            if try await app.store.pool.withConnection({ try RestoredEvents.isFromAnotherCluster(on: $0) }) {
                throw ConfigurationError(
                    "the events were restored from another PostgreSQL cluster: run `\(name) --adopt-restored-events` once, before any service starts on this database"
                )
            }
            let router = try build(app)
            try app.start(router: router, port: port)
        } catch {
            await app.shutdown()
            throw error
        }
        return app
    }
}

/// The whole life of an executable: read configuration (a bad value is a message on stderr and
/// exit code 2), migrate, serve, and on SIGTERM or SIGINT stop gracefully and exit 0.
/// `--migrate-only` applies the migrations and exits; `--rotate-master-key` re-wraps every key
/// under the active master key; `--adopt-restored-events` makes events restored from another
/// cluster's dump readable here (`RestoredEvents`).
public enum ServiceMain {
    static let commands = ["--migrate-only", "--rotate-master-key", "--adopt-restored-events"]

    public static func run<S: ServiceDefinition>(_ service: S.Type) async -> Never {
        let arguments = CommandLine.arguments.dropFirst()
        for a in arguments where !commands.contains(a) {
            FileHandle.standardError.write(
                Data("\(S.name): unknown argument (try \(commands.joined(separator: ", ")))\n".utf8))
            exit(2)
        }
        let configuration: ServiceConfiguration
        do {
            configuration = try ServiceConfiguration(defaultPort: S.defaultPort)
        } catch {
            FileHandle.standardError.write(Data("\(S.name): configuration error: \(error)\n".utf8))
            exit(2)
        }
        if configuration.metricsToken == nil {
            FileHandle.standardError.write(
                Data("\(S.name): note: METRICS_TOKEN is not set; /metrics is open to whoever reaches this port\n".utf8))
        }
        if configuration.usesDevelopmentMasterKey {
            FileHandle.standardError.write(
                Data("\(S.name): warning: MASTER_KEY is not set; using the public development key (never for real data)\n".utf8))
        }
        if arguments.contains("--migrate-only") {
            await runCommand(S.self, configuration, failure: "migration failed") { _ in nil }
        }
        if arguments.contains("--rotate-master-key") {
            // Re-wraps every tenant and subject key under the active (first) master key.
            await runCommand(S.self, configuration, failure: "rotation failed") { app in
                let vault = app.vault
                let moved = try await app.store.pool.withConnection { try vault.rotateMasterKey(on: $0) }
                return "rewrapped \(moved) keys under master key \(configuration.masterKeys.activeID)"
            }
        }
        if arguments.contains("--adopt-restored-events") {
            await runCommand(S.self, configuration, failure: "adoption failed") { app in
                let moved = try await app.store.pool.withConnection { try RestoredEvents.adopt(on: $0) }
                return moved == 0
                    ? "no event comes from another cluster; nothing to do"
                    : "adopted \(moved) restored events (now in position order); the services can start"
            }
        }
        // Wait for the database at start (containers may start before it is ready).
        var app: ServiceApp?
        var attempt = 0
        while app == nil {
            do {
                app = try await S.start(configuration: configuration)
            } catch let error as ConfigurationError {
                FileHandle.standardError.write(Data("\(S.name): configuration error: \(error)\n".utf8))
                exit(2)
            } catch {
                attempt += 1
                FileHandle.standardError.write(Data("\(S.name): start failed (\(error)); retrying\n".utf8))
                if attempt > 60 { exit(1) }
                try? await Task.sleep(for: .seconds(1))
            }
        }
        await waitForTerminationSignal()
        FileHandle.standardError.write(Data("\(S.name): stopping\n".utf8))
        await app!.shutdown()
        exit(0)
    }

    /// A one-shot command: migrates, runs `body` (printing what it returns), and exits 0; on an
    /// error, says `failure` and why on stderr and exits 1.
    static func runCommand<S: ServiceDefinition>(
        _ service: S.Type, _ configuration: ServiceConfiguration, failure: String,
        _ body: (ServiceApp) async throws -> String?
    ) async -> Never {
        let app = ServiceApp(name: S.name, configuration: configuration)
        do {
            try await app.migrate(component: S.name, migrations: S.migrations)
            if let said = try await body(app) { print(said) }
            await app.shutdown()
            exit(0)
        } catch {
            FileHandle.standardError.write(Data("\(S.name): \(failure): \(error)\n".utf8))
            exit(1)
        }
    }

    /// Suspends until SIGTERM or SIGINT arrives.
    static func waitForTerminationSignal() async {
        signal(SIGTERM, SIG_IGN)
        signal(SIGINT, SIG_IGN)
        let queue = DispatchQueue(label: "signals")
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let once = LockedBox(false)
            var sources: [any DispatchSourceSignal] = []
            for sig in [SIGTERM, SIGINT] {
                let source = DispatchSource.makeSignalSource(signal: sig, queue: queue)
                source.setEventHandler {
                    let first = once.withLock { fired -> Bool in
                        defer { fired = true }
                        return !fired
                    }
                    if first { continuation.resume() }
                }
                source.resume()
                sources.append(source)
            }
            // Keep the sources alive for the life of the process.
            SignalSources.keep(sources)
        }
    }
}

enum SignalSources {
    nonisolated(unsafe) static var kept: [any DispatchSourceSignal] = []
    static func keep(_ s: [any DispatchSourceSignal]) { kept = s }
}
