import Foundation

/// The size of the fault tests. CI runs the short variant; `FAULT_TESTS_LONG=1` runs the long
/// one by hand (about ten times the writes, a minute-long database outage, forty mails in
/// flight around the delivery kill), documented in bench/RESULTS.md:
///
///     FAULT_TESTS_LONG=1 swift test --filter '^SystemTests\.(CrashTests|FaultTests)'
enum FaultScale {
    static let isLong = ProcessInfo.processInfo.environment["FAULT_TESTS_LONG"] == "1"

    /// `short` in CI, `long` in the long variant.
    static func pick<T>(_ short: T, long: T) -> T { isLong ? long : short }

    /// A deadline that grows with the long variant's larger load.
    static func seconds(_ short: Int) -> Duration { .seconds(isLong ? short * 10 : short) }
}
