import Crypto
import Foundation
import Synchronization
import Webhooks

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Fetches SNS signing certificates (only from URLs the ``SNSCertificateURLPolicy`` allows),
/// keeps them in memory, and confirms subscriptions with a GET of their `SubscribeURL`.
final class SNSCertificateStore: Sendable {
    /// Why a certificate is not available.
    enum Failure: Error, Sendable {
        /// The URL is not one we fetch from.
        case notAllowed
        /// The host did not answer in time or could not be reached (retryable).
        case unreachable
        /// The host answered, but not with a certificate.
        case invalid
    }

    let policy: SNSCertificateURLPolicy
    /// Seconds before a fetch gives up.
    let timeout: TimeInterval
    private let cache = Mutex<[String: X509Certificate]>([:])
    /// Most certificates kept; SNS rotates them rarely.
    static let cacheLimit = 64
    /// Largest certificate body accepted.
    static let maximumBytes = 64 * 1024

    init(policy: SNSCertificateURLPolicy, timeout: TimeInterval = 5) {
        self.policy = policy
        self.timeout = timeout
    }

    /// The certificate at `url`, from memory or fetched once.
    func certificate(at url: String) async throws(Failure) -> X509Certificate {
        guard policy.allowsSigningCertificateURL(url), let target = URL(string: url) else { throw .notAllowed }
        if let cached = cache.withLock({ $0[url] }) { return cached }
        guard let (status, finalURL, body) = await Self.get(target, timeout: timeout) else { throw .unreachable }
        guard status == 200, policy.allowsSigningCertificateURL(finalURL), body.count <= Self.maximumBytes,
            let certificate = try? X509Certificate(pem: String(decoding: body, as: UTF8.self))
        else { throw .invalid }
        cache.withLock { entries in
            if entries.count >= Self.cacheLimit { entries.removeAll() }
            entries[url] = certificate
        }
        return certificate
    }

    /// GETs `url` to confirm a subscription; true on a 2xx answer. False without a request when
    /// the policy does not allow the URL.
    func confirmSubscription(_ url: String) async -> Bool {
        guard policy.allowsSubscribeURL(url), let target = URL(string: url) else { return false }
        guard let (status, _, _) = await Self.get(target, timeout: timeout) else { return false }
        return (200..<300).contains(status)
    }

    /// One GET with a short timeout: status, final URL (after redirects) and body; nil when no
    /// answer came.
    static func get(_ url: URL, timeout: TimeInterval) async -> (Int, String, [UInt8])? {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeout
        configuration.timeoutIntervalForResource = timeout * 2
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        let session = URLSession(configuration: configuration)
        defer { session.finishTasksAndInvalidate() }
        var request = URLRequest(url: url, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: timeout)
        request.httpMethod = "GET"
        return await withCheckedContinuation { (continuation: CheckedContinuation<(Int, String, [UInt8])?, Never>) in
            let task = session.dataTask(with: request) { data, response, error in
                guard error == nil, let http = response as? HTTPURLResponse else {
                    continuation.resume(returning: nil)
                    return
                }
                continuation.resume(
                    returning: (http.statusCode, http.url?.absoluteString ?? url.absoluteString, data.map { [UInt8]($0) } ?? []))
            }
            task.resume()
        }
    }
}
