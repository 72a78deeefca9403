-- Appended to a wrk script by bench/ingest.sh: prints one machine-readable line
-- "RESULT requests non2xx rps p50_ms p99_ms other_errors" (latencies in milliseconds; other
-- errors: connect/read/write failures and timeouts, whose requests may still have been written).
done = function(summary, latency, requests)
  local other = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format("RESULT %d %d %.0f %.2f %.2f %d\n", summary.requests, summary.errors.status,
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(99) / 1000, other))
end
