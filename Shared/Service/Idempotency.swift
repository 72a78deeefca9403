import Crypto
import EventStore
import Foundation
import HTTP
import JSON
import Postgres

/// `Idempotency-Key` support for POST/PUT/DELETE: a retry with the same key and body within
/// 24 hours gets the first response and appends nothing; the same key with another body is 422.
///
/// Event ids of a keyed request are derived from (tenant, key, index), so even two concurrent
/// copies of one request append each event once (the event store ignores a repeated id).
public struct IdempotencyStore: Sendable {
    public static let migrations: [Migration] = [
        Migration(
            version: 1, name: "idempotency keys",
            sql: """
                CREATE TABLE IF NOT EXISTS idempotency_keys (
                    tenant      text NOT NULL,
                    key         text NOT NULL,
                    fingerprint bytea NOT NULL,
                    status      integer NOT NULL,
                    body        bytea NOT NULL,
                    headers     json NOT NULL,
                    created_at  timestamptz NOT NULL DEFAULT now(),
                    PRIMARY KEY (tenant, key)
                );
                CREATE INDEX IF NOT EXISTS idempotency_keys_created ON idempotency_keys (created_at);
                """)
    ]

    /// How long a key is remembered.
    public static let retention: TimeInterval = 24 * 3600
    /// Response headers that are replayed.
    static let replayedHeaders = ["X-Consistency-Token", "Content-Type"]

    let pool: PostgresPool

    public init(pool: PostgresPool) { self.pool = pool }

    /// Runs `body` once per (tenant, Idempotency-Key, request); without the header it just runs.
    public func run(
        _ request: HTTPRequest, tenant: String, _ body: @Sendable (RequestIdentity) async throws -> HTTPResponse
    ) async throws -> HTTPResponse {
        guard let key = request.headers["Idempotency-Key"] else {
            return try await body(RequestIdentity(tenant: tenant, key: nil))
        }
        guard !key.isEmpty, key.utf8.count <= 255, key.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) else {
            throw HTTPError(.badRequest, "Idempotency-Key must be 1 to 255 printable ASCII characters")
        }
        var material = Array(request.method.utf8) + [0] + Array(request.path.utf8) + [0]
        material += Array((request.query.items.map { "\($0.0)=\($0.1)" }.joined(separator: "&")).utf8) + [0]
        material += request.body
        let fingerprint = SHA256.hash(material)
        let cutoff = Date().timeIntervalSince1970 - Self.retention
        let found = try await pool.execute(
            """
            SELECT fingerprint, status, body, headers FROM idempotency_keys
            WHERE tenant = $1 AND key = $2 AND created_at > to_timestamp($3)
            """, [tenant, key, cutoff])
        if let row = found.rows.first {
            guard row.bytes(0) == fingerprint else {
                throw HTTPError(.unprocessableContent, "Idempotency-Key was already used with a different request")
            }
            var response = HTTPResponse(status: HTTPStatus(integerLiteral: row.int(1) ?? 200), body: row.bytes(2) ?? [])
            if let h = try? JSON.parse(Array((row[3] ?? "{}").utf8)).objectValue {
                for (name, value) in h { if let v = value.stringValue { response.headers.add(name, v) } }
            }
            response.headers.add("Idempotent-Replayed", "true")
            return response
        }
        let response = try await body(RequestIdentity(tenant: tenant, key: key))
        if response.status.code >= 200 && response.status.code < 300 {
            var headers = JSONObject()
            for name in Self.replayedHeaders { if let v = response.headers[name] { headers[name] = .string(v) } }
            try await pool.execute(
                """
                INSERT INTO idempotency_keys (tenant, key, fingerprint, status, body, headers)
                VALUES ($1, $2, $3, $4, $5, $6)
                ON CONFLICT (tenant, key) DO UPDATE SET fingerprint = EXCLUDED.fingerprint, status = EXCLUDED.status,
                    body = EXCLUDED.body, headers = EXCLUDED.headers, created_at = now()
                WHERE idempotency_keys.created_at <= to_timestamp($7)
                """,
                [tenant, key, PostgresBytes(fingerprint), response.status.code, PostgresBytes(response.body),
                 JSON.object(headers).text, cutoff])
        }
        return response
    }

    /// Forgets the tenant's stored responses that name any of `addresses` (case-insensitively):
    /// part of an erasure, since a response kept for a replay can quote the erased customer's
    /// address (a drip activation answers with its recipient). A request retried with such a
    /// key afterwards runs again instead of being replayed.
    public func forgetResponses(tenant: String, naming addresses: [String]) async throws {
        let addresses = addresses.filter { !$0.isEmpty }.map { $0.lowercased() }
        guard !addresses.isEmpty else { return }
        try await pool.execute(
            """
            DELETE FROM idempotency_keys WHERE tenant = $1
               AND EXISTS (SELECT 1 FROM unnest($2::text[]) AS a(address)
                            WHERE strpos(lower(convert_from(body, 'UTF8')), a.address) > 0)
            """, [tenant, PostgresArray(addresses)])
    }

    /// Forgets keys older than the retention period.
    public func prune() async throws {
        try await pool.execute(
            "DELETE FROM idempotency_keys WHERE created_at < now() - make_interval(secs => $1)", [Self.retention])
    }
}

/// Who is writing and under which idempotency key: gives the event ids to use.
public struct RequestIdentity: Sendable {
    public let tenant: String
    public let key: String?

    /// The id of the `index`th event this request appends: derived from the key when there is one
    /// (so a concurrent retry appends nothing new), otherwise a new time-ordered random id
    /// (`RandomUUID`: buffered kernel randomness, appended on the right edge of the `event_id`
    /// index; Foundation's `UUID()` opened /dev/urandom for every id, three system calls).
    public func eventID(_ index: Int, salt: String = "") -> UUID {
        guard let key else { return RandomUUID.makeTimeOrdered() }
        return DeterministicID.uuid("idem|\(tenant)|\(key)|\(salt)|\(index)")
    }
}

/// UUIDs derived from text (SHA-256, version 8 bits), for deterministic event ids.
public enum DeterministicID {
    public static func uuid(_ text: String) -> UUID {
        var b = SHA256.hash(Array(text.utf8))
        b[6] = (b[6] & 0x0F) | 0x80
        b[8] = (b[8] & 0x3F) | 0x80
        return UUID(uuid: (b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]))
    }
}
