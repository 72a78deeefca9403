import Testing

@testable import HTTP

@Suite struct MetricsRegistryTests {
    @Test func rendersPrometheusText() {
        let registry = MetricsRegistry()
        let counter = registry.counter("jobs_total", help: "Jobs.", labelNames: ["kind"])
        counter.increment(labels: ["a"])
        counter.increment(by: 2, labels: ["a"])
        counter.increment(labels: ["b\"q"])
        #expect(registry.counter("jobs_total", help: "again") === counter)
        registry.gauge("pool_in_use", help: "Pool.").set(3)
        registry.computedGauge("lag_seconds", help: "Lag.") { 1.5 }
        let h = registry.histogram("batch_size", help: "Batch.", buckets: [1, 10])
        h.observe(0.5)
        h.observe(5)
        h.observe(50)
        let text = registry.render()
        #expect(text.contains("# TYPE jobs_total counter\n"))
        #expect(text.contains("jobs_total{kind=\"a\"} 3\n"))
        #expect(text.contains("jobs_total{kind=\"b\\\"q\"} 1\n"))
        #expect(text.contains("pool_in_use 3\n"))
        #expect(text.contains("# TYPE lag_seconds gauge\nlag_seconds 1.5\n"))
        #expect(text.contains("batch_size_bucket{le=\"1\"} 1\n"))
        #expect(text.contains("batch_size_bucket{le=\"10\"} 2\n"))
        #expect(text.contains("batch_size_bucket{le=\"+Inf\"} 3\n"))
        #expect(text.contains("batch_size_sum 55.5\n"))
        #expect(text.contains("batch_size_count 3\n"))
    }

    @Test func countsFromManyThreads() async {
        let registry = MetricsRegistry()
        let counter = registry.counter("n", help: "n")
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<8 { group.addTask { for _ in 0..<1000 { counter.increment() } } }
        }
        #expect(counter.value() == 8000)
    }
}
