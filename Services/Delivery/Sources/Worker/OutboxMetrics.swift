import HTTP

/// What the outbox worker reports on `/metrics` besides its gauges (leader, sends in flight:
/// `DeliveryService` registers those from the worker itself).
struct OutboxMetrics: Sendable {
    /// Outcomes recorded, by event type (`message.sent`, `message.failed_to_send`, `message.dropped`).
    let outcomes: Counter
    /// Claimed emails not handed to the transport because this worker's lead ended first (they
    /// are left to the next leader).
    let released: Counter
    /// Outcomes the database has not taken yet (retried until it does; see `MessageSender.record`).
    let unrecorded: Gauge

    init(_ registry: MetricsRegistry) {
        outcomes = registry.counter(
            "delivery_send_outcomes_total", help: "Send outcomes recorded, by event type", labelNames: ["type"])
        released = registry.counter(
            "delivery_claims_released_total", help: "Claimed emails left to the next leader when this one's lead ended")
        unrecorded = registry.gauge(
            "delivery_send_outcomes_unrecorded", help: "Send outcomes waiting for the database to take them")
        unrecorded.set(0)  // exposed from the start
    }
}
