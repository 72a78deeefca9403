import Crypto
import Foundation
import HTTP

/// A configuration value that is missing or malformed. The message names the variable and what
/// is wrong, never the value (it may be a secret).
public struct ConfigurationError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Reads configuration from environment variables. Every variable the services read goes
/// through `read`, so `deploy/check_manifests.py` can list them from the sources.
public struct EnvironmentReader: Sendable {
    public let values: [String: String]

    public init(_ values: [String: String] = ProcessInfo.processInfo.environment) { self.values = values }

    /// The variable's value, or `defaultValue` when it is unset or empty.
    public func read(_ name: String, default defaultValue: String) -> String {
        if let v = values[name], !v.isEmpty { return v }
        return defaultValue
    }

    /// The variable's value, or nil when unset or empty.
    public func read(_ name: String) -> String? {
        if let v = values[name], !v.isEmpty { return v }
        return nil
    }

    /// An integer in `range`.
    public func read(_ name: String, default defaultValue: Int, in range: ClosedRange<Int>) throws -> Int {
        guard let text = read(name) else { return defaultValue }
        guard let v = Int(text), range.contains(v) else {
            throw ConfigurationError("\(name) must be a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return v
    }
}

/// What every service reads from its environment.
public struct ServiceConfiguration: Sendable {
    /// libpq URI of the shared database (`DATABASE_URL`).
    public var databaseURL: String
    /// Bind address (`HOST`, default 127.0.0.1; 0.0.0.0 in containers).
    public var host: String
    /// Listening port (`PORT`; ingest 8081, delivery 8082, query 8083).
    public var port: Int
    /// `site_id → api_key` (`API_KEYS`, comma-separated `site_id:api_key`). Each site is a tenant.
    public var apiKeys: [String: String]
    /// `LOG_LEVEL`: debug, info, warning or error (default info).
    public var logLevel: LogLevel
    /// Master keys wrapping personal-data keys (`MASTER_KEY`, `id:base64,...`, first active).
    public var masterKeys: MasterKeyring
    /// Whether `MASTER_KEY` was unset and the development key is in use.
    public var usesDevelopmentMasterKey: Bool
    /// Pooled database connections (`DB_POOL_SIZE`, default 8).
    public var poolSize: Int
    /// Group-commit committers, each with its own connection (`EVENT_COMMITTERS`, default 2; the
    /// second only takes a backlog of large appends, see `EventAppender.Configuration`).
    public var eventCommitters: Int
    /// Largest request body (`MAX_BODY_BYTES`, default 1 MiB).
    public var maxBodyBytes: Int
    /// `METRICS_TOKEN`: when set, `GET /metrics` requires `Authorization: Bearer <token>`;
    /// unset, it is open (keep the service port internal; the gateway does not route it).
    public var metricsToken: String?
    /// All variables, for service-specific settings.
    public var environment: EnvironmentReader

    /// A fixed, publicly known key so a local run works with no setup. Never use it for real data.
    public static let developmentMasterKey = "dev:ZGV2ZWxvcG1lbnQta2V5LW5vdC1mb3ItcHJvZCEhISE="

    /// Reads the configuration; throws `ConfigurationError` naming the first bad variable.
    public init(environment: EnvironmentReader = EnvironmentReader(), defaultPort: Int) throws {
        self.environment = environment
        databaseURL = environment.read("DATABASE_URL", default: "postgresql://postgres@127.0.0.1:5432/postgres")
        guard databaseURL.hasPrefix("postgresql://") || databaseURL.hasPrefix("postgres://") || databaseURL.contains("=") else {
            throw ConfigurationError("DATABASE_URL must be a libpq URI (postgresql://user@host:port/database)")
        }
        host = environment.read("HOST", default: "127.0.0.1")
        port = try environment.read("PORT", default: defaultPort, in: 0...65535)
        let levelName = environment.read("LOG_LEVEL", default: "info")
        guard let level = LogLevel(name: levelName) else {
            throw ConfigurationError("LOG_LEVEL must be one of debug, info, warning, error")
        }
        logLevel = level
        apiKeys = try Self.parseAPIKeys(environment.read("API_KEYS", default: ""))
        let master = environment.read("MASTER_KEY")
        usesDevelopmentMasterKey = master == nil
        do {
            masterKeys = try MasterKeyring(configuration: master ?? Self.developmentMasterKey)
        } catch {
            throw ConfigurationError("MASTER_KEY: \(error)")
        }
        poolSize = try environment.read("DB_POOL_SIZE", default: 8, in: 1...200)
        eventCommitters = try environment.read("EVENT_COMMITTERS", default: 2, in: 1...8)
        maxBodyBytes = try environment.read("MAX_BODY_BYTES", default: 1 << 20, in: 1024...(64 << 20))
        metricsToken = environment.read("METRICS_TOKEN")
        if let token = metricsToken, token.utf8.count < 16 {
            throw ConfigurationError("METRICS_TOKEN must be at least 16 characters")
        }
    }

    static func parseAPIKeys(_ text: String) throws -> [String: String] {
        var keys: [String: String] = [:]
        for (i, entry) in text.split(separator: ",").enumerated() {
            let trimmed = entry.trimmingCharacters(in: .whitespaces)
            let parts = trimmed.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw ConfigurationError("API_KEYS entry \(i + 1) must be site_id:api_key")
            }
            guard keys[String(parts[0])] == nil else {
                throw ConfigurationError("API_KEYS names site \(i + 1) twice")
            }
            keys[String(parts[0])] = String(parts[1])
        }
        return keys
    }
}
