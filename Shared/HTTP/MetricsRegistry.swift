import Synchronization

/// Thread-safe metrics (counters, gauges, histograms with labels) rendered in the Prometheus
/// text exposition format (version 0.0.4).
///
/// Register by name; registering the same name again returns the existing metric. Label values
/// are given in the order of `labelNames`.
public final class MetricsRegistry: Sendable {
    enum Family: Sendable {
        case counter(Counter)
        case gauge(Gauge)
        case histogram(Histogram)
        case computed(name: String, help: String, compute: @Sendable () -> Double)

        var name: String {
            switch self {
            case .counter(let c): c.name
            case .gauge(let g): g.name
            case .histogram(let h): h.name
            case .computed(let name, _, _): name
            }
        }
    }

    private let families = Mutex<[Family]>([])

    public init() {}

    /// A monotonically increasing counter.
    public func counter(_ name: String, help: String, labelNames: [String] = []) -> Counter {
        families.withLock { families in
            for case .counter(let c) in families where c.name == name { return c }
            let c = Counter(name: name, help: help, labelNames: labelNames)
            families.append(.counter(c))
            return c
        }
    }

    /// A value that goes up and down.
    public func gauge(_ name: String, help: String, labelNames: [String] = []) -> Gauge {
        families.withLock { families in
            for case .gauge(let g) in families where g.name == name { return g }
            let g = Gauge(name: name, help: help, labelNames: labelNames)
            families.append(.gauge(g))
            return g
        }
    }

    /// A distribution of observations in cumulative buckets (upper bounds, ascending).
    public func histogram(
        _ name: String, help: String, labelNames: [String] = [], buckets: [Double] = Histogram.defaultBuckets
    ) -> Histogram {
        families.withLock { families in
            for case .histogram(let h) in families where h.name == name { return h }
            let h = Histogram(name: name, help: help, labelNames: labelNames, buckets: buckets)
            families.append(.histogram(h))
            return h
        }
    }

    /// A gauge whose value is computed by `compute` at every scrape (keep it cheap and non-blocking).
    public func computedGauge(_ name: String, help: String, _ compute: @escaping @Sendable () -> Double) {
        families.withLock { families in
            families.removeAll { $0.name == name }
            families.append(.computed(name: name, help: help, compute: compute))
        }
    }

    /// Every metric in the Prometheus text format.
    public func render() -> String {
        let snapshot = families.withLock { $0 }
        var out = ""
        for family in snapshot {
            switch family {
            case .counter(let c): c.render(into: &out)
            case .gauge(let g): g.render(into: &out)
            case .histogram(let h): h.render(into: &out)
            case .computed(let name, let help, let compute):
                out += "# HELP \(name) \(escapeHelp(help))\n# TYPE \(name) gauge\n\(name) \(formatMetric(compute()))\n"
            }
        }
        return out
    }

    /// `render()` as a response with the Prometheus content type.
    public func response() -> HTTPResponse {
        .text(render(), contentType: "text/plain; version=0.0.4; charset=utf-8")
    }
}

/// A counter family; one series per label-value combination.
public final class Counter: Sendable {
    public let name: String
    public let help: String
    public let labelNames: [String]
    private let values = Mutex<[[String]: Double]>([:])

    init(name: String, help: String, labelNames: [String]) {
        self.name = name
        self.help = help
        self.labelNames = labelNames
    }

    /// Adds `amount` (must be ≥ 0) to the series for `labels`.
    public func increment(by amount: Double = 1, labels: [String] = []) {
        values.withLock { $0[labels, default: 0] += amount }
    }

    /// The current value of the series for `labels`.
    public func value(labels: [String] = []) -> Double { values.withLock { $0[labels] ?? 0 } }

    func render(into out: inout String) {
        let snapshot = values.withLock { $0 }
        out += "# HELP \(name) \(escapeHelp(help))\n# TYPE \(name) counter\n"
        for (labels, v) in snapshot.sorted(by: { $0.key.lexicographicallyPrecedes($1.key) }) {
            out += "\(name)\(labelText(labelNames, labels)) \(formatMetric(v))\n"
        }
    }
}

/// A gauge family; one series per label-value combination.
public final class Gauge: Sendable {
    public let name: String
    public let help: String
    public let labelNames: [String]
    private let values = Mutex<[[String]: Double]>([:])

    init(name: String, help: String, labelNames: [String]) {
        self.name = name
        self.help = help
        self.labelNames = labelNames
    }

    public func set(_ value: Double, labels: [String] = []) { values.withLock { $0[labels] = value } }
    public func add(_ amount: Double, labels: [String] = []) { values.withLock { $0[labels, default: 0] += amount } }
    public func value(labels: [String] = []) -> Double { values.withLock { $0[labels] ?? 0 } }

    func render(into out: inout String) {
        let snapshot = values.withLock { $0 }
        out += "# HELP \(name) \(escapeHelp(help))\n# TYPE \(name) gauge\n"
        for (labels, v) in snapshot.sorted(by: { $0.key.lexicographicallyPrecedes($1.key) }) {
            out += "\(name)\(labelText(labelNames, labels)) \(formatMetric(v))\n"
        }
    }
}

/// A histogram family; one series per label-value combination.
public final class Histogram: Sendable {
    /// Seconds-oriented default buckets, as in the Prometheus client libraries.
    public static let defaultBuckets: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

    struct Series: Sendable {
        var counts: [UInt64]
        var sum: Double = 0
        var count: UInt64 = 0
    }

    public let name: String
    public let help: String
    public let labelNames: [String]
    public let buckets: [Double]
    private let series = Mutex<[[String]: Series]>([:])

    init(name: String, help: String, labelNames: [String], buckets: [Double]) {
        self.name = name
        self.help = help
        self.labelNames = labelNames
        self.buckets = buckets.sorted()
    }

    /// Records one observation in the series for `labels`.
    public func observe(_ value: Double, labels: [String] = []) {
        var bucket = buckets.count
        for (i, bound) in buckets.enumerated() where value <= bound {
            bucket = i
            break
        }
        let n = buckets.count
        series.withLock { all in
            all[labels, default: Series(counts: Array(repeating: 0, count: n + 1))].record(bucket, value)
        }
    }

    /// The number of observations in the series for `labels`.
    public func count(labels: [String] = []) -> UInt64 { series.withLock { $0[labels]?.count ?? 0 } }

    func render(into out: inout String) {
        let snapshot = series.withLock { $0 }
        out += "# HELP \(name) \(escapeHelp(help))\n# TYPE \(name) histogram\n"
        for (labels, s) in snapshot.sorted(by: { $0.key.lexicographicallyPrecedes($1.key) }) {
            var cumulative: UInt64 = 0
            for (i, bound) in buckets.enumerated() {
                cumulative += s.counts[i]
                out += "\(name)_bucket\(labelText(labelNames + ["le"], labels + [formatMetric(bound)])) \(cumulative)\n"
            }
            out += "\(name)_bucket\(labelText(labelNames + ["le"], labels + ["+Inf"])) \(s.count)\n"
            out += "\(name)_sum\(labelText(labelNames, labels)) \(formatMetric(s.sum))\n"
            out += "\(name)_count\(labelText(labelNames, labels)) \(s.count)\n"
        }
    }
}

extension Histogram.Series {
    mutating func record(_ bucket: Int, _ value: Double) {
        counts[bucket] += 1
        sum += value
        count += 1
    }
}

func labelText(_ names: [String], _ values: [String]) -> String {
    guard !names.isEmpty else { return "" }
    var parts: [String] = []
    for (i, name) in names.enumerated() {
        let value = i < values.count ? values[i] : ""
        var escaped = ""
        for c in value {
            switch c {
            case "\\": escaped += "\\\\"
            case "\"": escaped += "\\\""
            case "\n": escaped += "\\n"
            default: escaped.append(c)
            }
        }
        parts.append("\(name)=\"\(escaped)\"")
    }
    return "{" + parts.joined(separator: ",") + "}"
}

func escapeHelp(_ help: String) -> String {
    help.replacingOccurrences("\\", "\\\\").replacingOccurrences("\n", "\\n")
}

func formatMetric(_ v: Double) -> String {
    if v.isNaN { return "NaN" }
    if v.isInfinite { return v > 0 ? "+Inf" : "-Inf" }
    if v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
    return String(v)
}

extension String {
    func replacingOccurrences(_ target: Character, _ replacement: String) -> String {
        var out = ""
        for c in self {
            if c == target { out += replacement } else { out.append(c) }
        }
        return out
    }
}
