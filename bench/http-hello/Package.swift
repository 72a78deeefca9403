// swift-tools-version:6.0
// Throwaway benchmark: the HTTP and JSON sources of the worktree (symlinked) and a hello server.
import PackageDescription

let package = Package(
    name: "http-hello",
    targets: [
        .target(name: "JSON", path: "Sources/JSON", linkerSettings: [.linkedLibrary("m")]),
        .systemLibrary(name: "CSystemCalls", path: "Sources/CSystemCalls"),
        .target(name: "ThreadSupport", dependencies: ["CSystemCalls"], path: "Sources/ThreadSupport"),
        .target(name: "HTTP", dependencies: ["JSON", "ThreadSupport"], path: "Sources/HTTP"),
        .executableTarget(name: "hello", dependencies: ["HTTP", "JSON"], path: "Sources/hello"),
    ],
    swiftLanguageModes: [.v6]
)
