#ifndef CSYSTEMCALLS_SHIM_H
#define CSYSTEMCALLS_SHIM_H
// Linux system calls that glibc (2.36, Debian 12) has no wrapper for; Swift cannot call the
// variadic syscall(2) itself, so each gets a fixed-signature inline function here.
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/syscall.h>
#endif

/// The kernel's struct sched_attr (sched_setattr(2)), under our own name: newer glibc and the
/// kernel headers both define `struct sched_attr`, and Debian 12's glibc does not.
struct csystemcalls_sched_attr {
    uint32_t size;
    uint32_t sched_policy;
    uint64_t sched_flags;
    int32_t sched_nice;
    uint32_t sched_priority;
    uint64_t sched_runtime;
    uint64_t sched_deadline;
    uint64_t sched_period;
};

/// Asks the scheduler to give the calling thread slices of `nanoseconds` under the normal
/// policy (SCHED_OTHER, nice 0). On Linux 6.12 and later (EEVDF) a shorter slice means an
/// earlier deadline, so the thread runs sooner when it wakes on a busy CPU; earlier kernels
/// ignore the value. Returns 0, or -1 with errno set (for example where a seccomp profile
/// refuses the call, or on other systems).
static inline int csystemcalls_set_current_thread_slice(uint64_t nanoseconds) {
#if defined(__linux__) && defined(SYS_sched_setattr)
    struct csystemcalls_sched_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.size = sizeof attr;
    attr.sched_policy = 0;  // SCHED_OTHER
    attr.sched_runtime = nanoseconds;
    return (int)syscall(SYS_sched_setattr, 0, &attr, 0);
#else
    (void)nanoseconds;
    return -1;
#endif
}
#endif
