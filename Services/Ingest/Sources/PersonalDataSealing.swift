import Foundation
import Service

/// Whether ingest seals personal fields under the subject's key. Always `.encrypted` unless the
/// benchmark-only switch is set.
///
/// `.plaintextBenchmarkOnly` exists for one purpose: `bench/ingest.sh` measures what encryption
/// costs (issue #10) by running the same load with and without it. In that mode personal data is
/// written to the append-only log IN CLEAR, where erasure can never remove it: never use it with
/// real data. It is enabled only by `INGEST_BENCHMARK_ONLY_PLAINTEXT=store-personal-data-in-clear`;
/// any other value of that variable refuses to start.
enum PersonalDataSealing: Sendable, Equatable {
    case encrypted
    case plaintextBenchmarkOnly

    static let variable = "INGEST_BENCHMARK_ONLY_PLAINTEXT"
    static let consent = "store-personal-data-in-clear"

    static func from(environment: [String: String]) throws(ConfigurationError) -> PersonalDataSealing {
        guard let value = environment[variable] else { return .encrypted }
        guard value == consent else {
            throw ConfigurationError("\(variable) is a benchmark-only switch; its only accepted value is \(consent)")
        }
        return .plaintextBenchmarkOnly
    }
}
