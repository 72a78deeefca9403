import Foundation

/// Names the calling thread for the kernel, as `top -H`, `ps -L` and `perf` show it (15 bytes
/// at most; longer names keep their end). Foundation's `Thread.name` does not do it on Linux:
/// every thread showed as the process's name, which made per-thread profiling guesswork.
public func nameCurrentThread(_ name: String) {
    let bytes = Array(name.utf8.suffix(15))
    guard let handle = FileHandle(forWritingAtPath: "/proc/thread-self/comm") else { return }
    defer { try? handle.close() }
    try? handle.write(contentsOf: bytes)
}
