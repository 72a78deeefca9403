#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
import JSON

/// Log severity, ordered; read from `LOG_LEVEL` (debug, info, warning, error).
public enum LogLevel: Int, Sendable, Comparable, CustomStringConvertible {
    case debug = 0
    case info = 1
    case warning = 2
    case error = 3

    public init?(name: String) {
        switch name.lowercased() {
        case "debug": self = .debug
        case "info": self = .info
        case "warning", "warn": self = .warning
        case "error": self = .error
        default: return nil
        }
    }

    /// The level named by the `LOG_LEVEL` environment variable, or `.info`.
    public static func fromEnvironment() -> LogLevel {
        guard let p = getenv("LOG_LEVEL") else { return .info }
        return LogLevel(name: String(cString: p)) ?? .info
    }

    public static func < (a: LogLevel, b: LogLevel) -> Bool { a.rawValue < b.rawValue }

    public var description: String {
        switch self {
        case .debug: "debug"
        case .info: "info"
        case .warning: "warning"
        case .error: "error"
        }
    }
}

/// Structured JSON-lines logging: one object per line, handed to a sink (default: stdout).
public struct RequestLogger: Sendable {
    public var level: LogLevel
    public var sink: @Sendable (String) -> Void

    /// - Parameters:
    ///   - level: lines below it are dropped (default: `LOG_LEVEL`, else info).
    ///   - sink: receives each line without its newline (default: one `write` to stdout).
    public init(level: LogLevel = .fromEnvironment(), sink: @escaping @Sendable (String) -> Void = RequestLogger.stdout) {
        self.level = level
        self.sink = sink
    }

    /// A logger that drops everything.
    public static let disabled = RequestLogger(level: .error, sink: { _ in })

    /// Writes `line` and a newline to standard output in one `write` call.
    public static let stdout: @Sendable (String) -> Void = { line in
        var bytes = Array(line.utf8)
        bytes.append(0x0A)
        _ = bytes.withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
    }

    public func isEnabled(_ l: LogLevel) -> Bool { l >= level }

    /// Logs `message` with extra `fields` at `level`.
    public func log(_ l: LogLevel, _ message: String, _ fields: JSONObject = JSONObject()) {
        guard l >= level else { return }
        var object = JSONObject()
        object["time"] = .string(Self.timestamp())
        object["level"] = .string(l.description)
        object["message"] = .string(message)
        for (k, v) in fields { object[k] = v }
        sink(JSON.object(object).text)
    }

    /// Logs one finished request at info level.
    public func logRequest(
        requestID: String, method: String, route: String, status: Int, durationMs: Double, bytes: Int
    ) {
        guard LogLevel.info >= level else { return }
        var object = JSONObject()
        object["time"] = .string(Self.timestamp())
        object["level"] = "info"
        object["request_id"] = .string(requestID)
        object["method"] = .string(method)
        object["route"] = .string(route)
        object["status"] = .int(status)
        object["duration_ms"] = .number(String(Double(Int(durationMs * 1000)) / 1000))
        object["bytes"] = .int(bytes)
        sink(JSON.object(object).text)
    }

    /// The current UTC time as `2026-01-02T03:04:05.678Z`.
    public static func timestamp() -> String {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        var t = ts.tv_sec
        var tm = tm()
        gmtime_r(&t, &tm)
        func pad(_ v: Int, _ width: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return "\(pad(Int(tm.tm_year) + 1900, 4))-\(pad(Int(tm.tm_mon) + 1, 2))-\(pad(Int(tm.tm_mday), 2))T"
            + "\(pad(Int(tm.tm_hour), 2)):\(pad(Int(tm.tm_min), 2)):\(pad(Int(tm.tm_sec), 2))."
            + "\(pad(Int(ts.tv_nsec) / 1_000_000, 3))Z"
    }
}
