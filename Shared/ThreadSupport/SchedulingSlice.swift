import CSystemCalls

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where the calling thread has asked for short scheduling slices already (a thread-specific
/// key: dispatch queues run their work on whichever pool thread is free).
private let shortSliceKey: pthread_key_t = {
    var key = pthread_key_t()
    pthread_key_create(&key, nil)
    return key
}()

/// Asks the kernel to run the calling thread in short slices (`nanoseconds`, 100 µs by
/// default, the least Linux takes), once per thread. Meant for threads that wake, do a little
/// and block again: the SMTP sessions, woken by each reply from the server. On a busy CPU
/// (Linux 6.12 or later) such a thread then runs soon after it wakes instead of after the
/// running threads' longer slices, so a provider's connection waits less for its next command.
/// Does nothing where the kernel ignores or refuses it. A dispatch pool thread keeps the setting
/// for whatever it runs later (in delivery: event prefetches and timers, short work as well).
public func preferShortSchedulingSlices(nanoseconds: UInt64 = 100_000) {
    guard pthread_getspecific(shortSliceKey) == nil else { return }
    _ = csystemcalls_set_current_thread_slice(nanoseconds)
    pthread_setspecific(shortSliceKey, UnsafeRawPointer(bitPattern: 1))
}
