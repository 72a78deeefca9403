// swift-tools-version:6.0
// Throwaway micro-benchmark for the Crypto target. Its Sources/Crypto and Sources/CCrypto are
// symlinks into this worktree's Shared/ (the root package exports no library product).
// Run once: swift run -c release bench
import PackageDescription

let package = Package(
    name: "crypto-bench",
    targets: [
        .systemLibrary(name: "CCrypto", path: "Sources/CCrypto", pkgConfig: "openssl"),
        .target(name: "Crypto", dependencies: ["CCrypto"], path: "Sources/Crypto"),
        .executableTarget(name: "bench", dependencies: ["Crypto"], path: "Sources/bench"),
    ],
    swiftLanguageModes: [.v6]
)
