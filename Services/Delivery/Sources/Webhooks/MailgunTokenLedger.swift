import Postgres
import Service
import Synchronization

/// Remembers Mailgun signature tokens so a captured request cannot be replayed: a token is
/// accepted once per tenant. Tokens older than an hour are forgotten (the signature's
/// timestamp is refused after five minutes anyway).
final class MailgunTokenLedger: Sendable {
    let app: ServiceApp
    private let uses = Atomic<Int>(0)

    init(app: ServiceApp) { self.app = app }

    /// True when `token` is new for `tenant` (and is now remembered); false for a replay.
    func claim(_ token: String, tenant: String) async throws -> Bool {
        let prune = uses.wrappingAdd(1, ordering: .relaxed).oldValue % 100 == 0
        return try await app.store.pool.withConnection { c in
            if prune {
                try c.execute("DELETE FROM webhook_mailgun_tokens WHERE seen_at < now() - interval '1 hour'")
            }
            let rows = try c.execute(
                """
                INSERT INTO webhook_mailgun_tokens (tenant, token) VALUES ($1, $2)
                ON CONFLICT (tenant, token) DO NOTHING RETURNING 1
                """, [tenant, token])
            return !rows.isEmpty
        }
    }

    /// Forgets a token whose request could not be stored, so the same delivery may be retried.
    func release(_ token: String, tenant: String) async {
        _ = try? await app.store.pool.execute(
            "DELETE FROM webhook_mailgun_tokens WHERE tenant = $1 AND token = $2", [tenant, token])
    }
}
