import EventStore
import Foundation
import JSON
import Postgres
import Privacy

/// Personal data sealed under one subject's key, ready for an event.
struct SealedPart: Sendable {
    var subject: String
    var sealed: String
    var keyID: UUID
}

extension PersonalDataVault {
    /// The subject hash of an email address (lowercased first).
    func addressSubject(tenant: String, address: String, on c: PostgresConnection) throws -> String {
        try subjectHash(tenant: tenant, subject: address.lowercased(), on: c)
    }

    /// Seals `personal` under the key of `subject` (a subject hash).
    func sealPart(_ personal: JSON, tenant: String, subject: String, on c: PostgresConnection) throws -> SealedPart {
        let key = try keyForWriting(tenant: tenant, subjectHash: subject, on: c)
        return SealedPart(subject: subject, sealed: try seal(personal, with: key, tenant: tenant), keyID: key.id)
    }
}

/// Runs `attempt` (seal + append) and, when an erasure destroyed a key meanwhile, forgets the
/// cached keys and runs it once more (sealing under fresh keys). Erasures are rare, so dropping
/// the whole cache is cheaper than tracking which subjects were involved.
func appendRetryingDestroyedKeys<T: Sendable>(vault: PersonalDataVault, _ attempt: () async throws -> T) async throws -> T {
    do {
        return try await attempt()
    } catch AppendError.keyDestroyed {
        vault.forgetCachedKeys()
        return try await attempt()
    }
}
