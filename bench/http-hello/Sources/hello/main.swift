import HTTP
import JSON

var router = Router()
router.inline("GET", "/", requiresAuth: false) { _, _ in .json(["hello": "world"]) }
router.get("/async", requiresAuth: false) { _, _ in .json(["hello": "world"]) }
let metrics = MetricsRegistry()
router.inline("GET", "/metrics", requiresAuth: false) { _, _ in metrics.response() }
let port = Int(CommandLine.arguments.dropFirst().first ?? "8080") ?? 8080
let server = HTTPServer(
    router: router, configuration: .init(host: "127.0.0.1", port: port), metrics: metrics,
    logger: RequestLogger(level: .fromEnvironment()))
try server.start()
print("listening on \(server.port)")
await server.wait()
