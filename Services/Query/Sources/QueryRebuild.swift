import EventStore
import Foundation
import Service

/// An offline rebuild of the query projections (`query --rebuild`): empties the read tables,
/// replays the event table from position 0 and reports the speed. Run it while no `query`
/// replica leads the projections (otherwise it waits as a standby and gives up), or use
/// `POST /admin/rebuild` on a running service instead.
public enum QueryRebuild {
    /// What a rebuild did.
    public struct Report: Sendable, CustomStringConvertible {
        public let events: Int
        public let seconds: Double
        public var eventsPerSecond: Double { seconds > 0 ? Double(events) / seconds : 0 }
        public var description: String {
            "rebuilt query projections: \(events) events applied in \(String(format: "%.2f", seconds)) s (\(Int(eventsPerSecond)) events/s)"
        }
    }

    public struct NotLeader: Error, CustomStringConvertible {
        public var description: String { "another query replica leads the projections; stop it or use POST /admin/rebuild" }
    }

    /// The projections keep failing (the database went away, or the master key cannot unwrap
    /// the stored keys).
    public struct KeepsFailing: Error, CustomStringConvertible {
        public var description: String { "the projections keep failing; check DATABASE_URL and MASTER_KEY" }
    }

    /// Rebuilds every query projection on the database of `configuration`.
    public static func run(configuration: ServiceConfiguration, batchSize: Int = 5_000, timeout: Duration = .seconds(3600))
        async throws -> Report
    {
        let app = ServiceApp(name: QueryService.name, configuration: configuration)
        var running: [ProjectionRunner] = []
        do {
            try await app.migrate(component: QueryService.name, migrations: QueryService.migrations)
            app.vault.forgetCachedKeys()
            let runners = QueryService.projections(app).map { app.store.runner(for: $0, batchSize: batchSize) }
            let target = RebuildTarget(head: try await app.store.newestCheckpoint(), runners: runners)
            let clock = ContinuousClock()
            let started = clock.now
            for r in runners {
                r.requestRebuild()
                r.start()
                running.append(r)
            }
            var leaderSeen = false
            while true {
                let leaders = runners.allSatisfy { $0.progress.isLeader }
                leaderSeen = leaderSeen || leaders
                if target.isDone(runners) { break }
                if !leaderSeen && clock.now - started > .seconds(5) { throw NotLeader() }
                if clock.now - started > timeout { throw NotLeader() }
                if runners.contains(where: { $0.progress.errorCount >= 25 }) { throw KeepsFailing() }
                try await Task.sleep(for: .milliseconds(5))
            }
            let seconds = target.seconds(runners)
            let events = runners.map(\.progress.appliedEvents).max() ?? 0
            for r in running { r.stop() }
            await app.shutdown()
            return Report(events: events, seconds: seconds)
        } catch {
            for r in running { r.stop() }
            await app.shutdown()
            throw error
        }
    }

    /// `query --rebuild`: reads the configuration from the environment, rebuilds, prints the
    /// report and exits (0 on success, 1 on failure, 2 on a configuration error).
    public static func runFromCommandLine() async -> Never {
        let configuration: ServiceConfiguration
        do {
            configuration = try ServiceConfiguration(defaultPort: QueryService.defaultPort)
        } catch {
            FileHandle.standardError.write(Data("query: configuration error: \(error)\n".utf8))
            exit(2)
        }
        do {
            let report = try await run(configuration: configuration)
            print(report)
            exit(0)
        } catch {
            FileHandle.standardError.write(Data("query: rebuild failed: \(error)\n".utf8))
            exit(1)
        }
    }
}

