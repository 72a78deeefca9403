import Crypto
import Foundation
import Service

/// Configuration for a service under test: its own fresh database, two tenants
/// (`site1:key1`, `site2:key2`), a random master key, and quiet logs.
public enum TestServices {
    public static let tenants = [("site1", "key1"), ("site2", "key2")]

    /// A configuration on a new database (or on `databaseURL` to share one between services).
    /// One master key for the whole test process, as every service of a deployment shares one.
    public static let masterKey = MasterKeyring.generateEntry(id: "test1")

    public static func configuration(databaseURL: String? = nil, extra: [String: String] = [:]) throws -> ServiceConfiguration {
        var env: [String: String] = [
            "DATABASE_URL": try databaseURL ?? TestPostgres.makeDatabase(),
            "API_KEYS": tenants.map { "\($0.0):\($0.1)" }.joined(separator: ","),
            "MASTER_KEY": masterKey,
            "LOG_LEVEL": "error",
            "DB_POOL_SIZE": "4",
        ]
        for (k, v) in extra { env[k] = v }
        return try ServiceConfiguration(environment: EnvironmentReader(env), defaultPort: 0)
    }
}
