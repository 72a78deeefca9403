// swift-tools-version:6.0
// Throwaway micro-benchmark for the Mail target: rendering a message like the ones delivery
// sends, dot-stuffing it, parsing replies. Sources/Mail, Sources/Crypto and Sources/CCrypto are
// symlinks into this worktree's Shared/ (the root package exports no library product), so the
// same file measures any revision checked out in a worktree.
// Run: swift run -c release bench
import PackageDescription

let package = Package(
    name: "mail-bench",
    targets: [
        .systemLibrary(name: "CCrypto", path: "Sources/CCrypto", pkgConfig: "openssl"),
        .target(name: "Crypto", dependencies: ["CCrypto"], path: "Sources/Crypto"),
        .systemLibrary(name: "CSystemCalls", path: "Sources/CSystemCalls"),
        .target(name: "ThreadSupport", dependencies: ["CSystemCalls"], path: "Sources/ThreadSupport"),
        .target(name: "Mail", dependencies: ["CCrypto", "Crypto", "ThreadSupport"], path: "Sources/Mail"),
        .executableTarget(name: "bench", dependencies: ["Mail"], path: "Sources/bench"),
    ],
    swiftLanguageModes: [.v6]
)
