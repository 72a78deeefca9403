import Postgres

/// One versioned schema change of a component (the event store, or a service's read tables).
public struct Migration: Sendable {
    public let version: Int
    public let name: String
    /// SQL run as one script inside a transaction. Never built from request data.
    public let sql: String

    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
    }
}

/// Applies migrations at startup under an advisory lock, so several replicas can start at once:
/// one applies, the others wait and then find nothing left to do.
public enum Migrator {
    /// Advisory lock key shared by every component's migrations.
    static let lockKey: Int64 = 7_270_001

    /// Applies the migrations of `component` that are not applied yet, in version order.
    public static func migrate(_ connection: PostgresConnection, component: String, migrations: [Migration]) throws {
        try connection.execute("SELECT pg_advisory_lock($1)", [lockKey])
        defer { _ = try? connection.execute("SELECT pg_advisory_unlock($1)", [lockKey]) }
        try connection.executeScript(
            """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                component text NOT NULL,
                version integer NOT NULL,
                name text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (component, version)
            )
            """)
        let applied = Set(
            try connection.execute("SELECT version FROM schema_migrations WHERE component = $1", [component])
                .rows.compactMap { $0.int(0) })
        for m in migrations.sorted(by: { $0.version < $1.version }) where !applied.contains(m.version) {
            try connection.transaction {
                try connection.executeScript(m.sql)
                try connection.execute(
                    "INSERT INTO schema_migrations (component, version, name) VALUES ($1, $2, $3)",
                    [component, m.version, m.name])
            }
        }
    }
}
