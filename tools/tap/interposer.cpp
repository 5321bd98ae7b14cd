// libspicecap-tap.so: the interposed calls. Loaded with LD_PRELOAD (`spicecap tap -- COMMAND`), it
// defines the libc socket calls that SPICE clients and servers use for plain connections and OpenSSL's
// SSL_read/SSL_write for TLS ones; each calls the real function first, then shows the bytes it moved to
// TappedConnections. docs/tap.md says what was measured and why these calls.
//
// Rules every wrapper keeps, because the host program must never notice the tap:
//  - The real call happens first and its result and errno are returned untouched.
//  - A descriptor that is not SPICE costs one load from FdStates (and its first call a 4-byte compare):
//    no lock, no allocation, nothing that is unsafe in a signal handler or before constructors ran.
//  - The work for a SPICE connection (locks, allocation, the producer) runs with a thread-local flag set,
//    so that calls the tap itself makes (the producer's socket to spicecapd, the log line) and a signal
//    handler that interrupts it pass straight through; it never lets an exception out.
//  - The real functions are looked up lazily (dlsym RTLD_NEXT), so calls made during early init work.
//  - fork: the child forgets the parent's connections and producer (their threads did not survive
//    fork) and starts a producer of its own at its first SPICE channel.
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <string>
#include <type_traits>

#include "tap/process_producer_sink.hpp"
#include "tap/tapped_connections.hpp"

#define SPICECAP_TAP_EXPORT extern "C" __attribute__((visibility("default")))

// OpenSSL's types stay opaque: the tap needs no OpenSSL headers, only the calls' addresses.
struct ssl_st;

namespace {

using spicecap::tap::FdStates;
using spicecap::tap::MovedBytes;
using spicecap::tap::ProcessProducerSink;
using spicecap::tap::ProcessSinkOptions;
using spicecap::tap::TapLog;
using spicecap::tap::TappedConnections;
using spicecap::tap::Transfer;

// ---- the real functions ---------------------------------------------------------------------------------

/// Set while this thread looks up a real function. dlsym may allocate, and a malloc that another preloaded
/// library replaces may read a file while it initialises: such a nested call cannot wait for the lookup it
/// interrupted, so the descriptor calls then go to the kernel directly (the wrappers below).
thread_local bool t_resolving __attribute__((tls_model("initial-exec"))) = false;

/// The next definition of `name` after this library (libc's, libssl's). Looked up at the first call.
template <class Function>
Function* next_definition(std::atomic<Function*>& slot, const char* name) noexcept {
    Function* f = slot.load(std::memory_order_acquire);
    if (f != nullptr) return f;
    t_resolving = true;
    f = reinterpret_cast<Function*>(::dlsym(RTLD_NEXT, name));
    if (f == nullptr && std::strncmp(name, "SSL_", 4) == 0) {
        // A libssl loaded with RTLD_LOCAL (by a plugin) is not in RTLD_NEXT's scope, yet its callers reach
        // this library's definition first: look in the loaded libssl itself.
        for (const char* soname : {"libssl.so.3", "libssl.so.1.1"}) {
            if (void* handle = ::dlopen(soname, RTLD_LAZY | RTLD_NOLOAD)) {
                f = reinterpret_cast<Function*>(::dlsym(handle, name));
                if (f != nullptr) break;
            }
        }
    }
    t_resolving = false;
    if (f == nullptr) {
        // Nothing to forward to: the program called a function no loaded library defines. Cannot happen
        // for a program that links what it calls; say so rather than return a made-up result.
        static const char message[] = "spicecap-tap: cannot find the real function to call; aborting\n";
        [[maybe_unused]] const auto ignored = ::syscall(SYS_write, 2, message, sizeof message - 1);
        std::abort();
    }
    slot.store(f, std::memory_order_release);
    return f;
}

// decltype(&read) carries glibc's attributes (nonnull, warn_unused_result), which a template argument
// drops, harmlessly: the pointer only forwards the call.
#pragma GCC diagnostic ignored "-Wignored-attributes"
#define REAL(name)                                                   \
    ([]() noexcept {                                                 \
        static std::atomic<decltype(&name)> slot{nullptr};           \
        return next_definition<std::remove_pointer_t<decltype(&name)>>(slot, #name); \
    }())


// ---- state ----------------------------------------------------------------------------------------------

constinit FdStates g_fds;

/// Set while this thread runs the tap's own code: calls it makes meanwhile pass straight through.
/// initial-exec: reading it never allocates (no __tls_get_addr), also before constructors ran.
thread_local bool t_inside __attribute__((tls_model("initial-exec"))) = false;

/// Set when the process exits: from then on every call passes straight through.
std::atomic<bool> g_exiting{false};

class StderrLog final : public TapLog {
public:
    explicit StderrLog(std::string prefix) : prefix_(std::move(prefix)) {}
    void line(const std::string& text) override {
        // Never into a socket: a program that closed stderr may have a connection on descriptor 2.
        struct stat st;
        if (::fstat(2, &st) != 0 || S_ISSOCK(st.st_mode)) return;
        const std::string out = prefix_ + text + "\n";
        [[maybe_unused]] const auto ignored = ::write(2, out.data(), out.size());
    }

private:
    std::string prefix_;
};

std::string environment(const char* name, const std::string& otherwise) {
    const char* value = std::getenv(name);
    return value != nullptr && *value != '\0' ? std::string(value) : otherwise;
}

/// Everything but the descriptor table, made at the first SPICE-looking bytes of the process (never in a
/// process that does not speak SPICE) and never destroyed: threads of the program may still call in while
/// the process exits.
struct Tap {
    StderrLog log;
    ProcessProducerSink sink;
    TappedConnections connections;

    Tap(const std::string& program, const std::string& session)
        : log("spicecap-tap[" + std::to_string(::getpid()) + "] " + program + ": "),
          sink(ProcessSinkOptions{.name = program, .session_label = session}),
          connections(g_fds, sink, log) {
        log.verbose = std::getenv("SPICECAP_TAP_VERBOSE") != nullptr;
    }
};

std::atomic<Tap*> g_tap{nullptr};
constinit std::mutex g_tap_creation;

Tap& tap() {
    if (Tap* t = g_tap.load(std::memory_order_acquire)) return *t;
    std::lock_guard lock(g_tap_creation);
    Tap* t = g_tap.load(std::memory_order_acquire);
    if (t == nullptr) {
        const std::string program = environment("SPICECAP_TAP_NAME", program_invocation_short_name);
        t = new Tap(program, environment("SPICECAP_TAP_SESSION", program));
        g_tap.store(t, std::memory_order_release);
    }
    return *t;
}

/// Runs `work` as the tap's own code: the pass-through flag set, errno kept, no exception let out.
/// Nothing if the tap is already running on this thread (a signal handler that interrupted it, or the
/// tap's own calls) or the process exits. So a signal handler never waits for the tap's lock or enters
/// its allocations on the thread it interrupted; blocking signals instead would cost two system calls
/// per SPICE call (measured: the largest part of the tap's cost) for nothing more.
template <class Work>
void as_tap(Work&& work) noexcept {
    if (t_inside || t_resolving || g_exiting.load(std::memory_order_relaxed)) return;
    const int saved_errno = errno;
    t_inside = true;
    try {
        work();
    } catch (...) {  // bad_alloc: this connection's messages are lost, the program goes on
    }
    t_inside = false;
    errno = saved_errno;
}

std::uint64_t now_ns() noexcept {
    timespec t;
    ::clock_gettime(CLOCK_REALTIME, &t);
    return static_cast<std::uint64_t>(t.tv_sec) * 1'000'000'000u + static_cast<std::uint64_t>(t.tv_nsec);
}

// ---- what the wrappers call -----------------------------------------------------------------------------

void fd_moved(int fd, Transfer transfer, const iovec* buffers, std::size_t buffer_count, ssize_t count) noexcept {
    if (count <= 0) return;
    const FdStates::State state = g_fds.get(fd);
    if (state == FdStates::ignored) return;
    const MovedBytes bytes{{buffers, buffer_count}, static_cast<std::size_t>(count)};
    if (state == FdStates::unknown && !spicecap::tap::could_start_spice(bytes)) {
        g_fds.change(fd, FdStates::unknown, FdStates::ignored);
        return;
    }
    as_tap([&] { tap().connections.fd_moved(fd, transfer, bytes, now_ns()); });
}

void fd_moved(int fd, Transfer transfer, const void* buffer, ssize_t count) noexcept {
    const iovec one{const_cast<void*>(buffer), count > 0 ? static_cast<std::size_t>(count) : 0};
    fd_moved(fd, transfer, &one, 1, count);
}

void ssl_moved(ssl_st* ssl, Transfer transfer, const void* buffer, std::size_t count) noexcept {
    if (count == 0) return;
    const iovec one{const_cast<void*>(buffer), count};
    // Every TLS connection is remembered from its first bytes on, SPICE or not: a later SSL_read of an
    // HTTPS body that happens to start with "REDQ" is not the start of a connection. (The Tap is cheap;
    // only a SPICE channel starts the producer.)
    as_tap([&] { tap().connections.ssl_moved(ssl, transfer, MovedBytes{{&one, 1}, count}, now_ns()); });
}

/// `fd` is closed or new: what it was is over.
void fd_reset(int fd) noexcept {
    const FdStates::State state = g_fds.get(fd);
    if (state == FdStates::unknown) return;
    if (state == FdStates::ignored) {
        g_fds.set(fd, FdStates::unknown);
        return;
    }
    g_fds.set(fd, FdStates::unknown);  // also when the tap cannot run now (its connection is replaced later)
    as_tap([&] { tap().connections.fd_reset(fd); });
}

void fd_duplicated(int from, int to) noexcept {
    if (from == to) return;
    if (g_fds.get(to) == FdStates::tracked) fd_reset(to);
    g_fds.set(to, g_fds.get(from) == FdStates::unknown ? FdStates::unknown : FdStates::ignored);
}

bool peeking(int flags) noexcept { return (flags & MSG_PEEK) != 0; }

/// dup2 for a call made inside a lookup: the system call where it exists, else dup3 (which refuses
/// fd == to, where dup2 only checks that fd is open).
int dup2_by_system_call(int fd, int to) noexcept {
#ifdef SYS_dup2
    return static_cast<int>(::syscall(SYS_dup2, fd, to));
#else
    if (fd == to) return ::fcntl(fd, F_GETFD) < 0 ? -1 : fd;
    return static_cast<int>(::syscall(SYS_dup3, fd, to, 0));
#endif
}

// ---- fork and exit --------------------------------------------------------------------------------------

bool g_fork_locked = false;

void before_fork() noexcept {
    if (t_inside) return;  // a signal handler that interrupted the tap forks: the locks are not ours to take
    g_tap_creation.lock();
    if (Tap* t = g_tap.load(std::memory_order_acquire)) t->connections.mutex().lock();
    g_fork_locked = true;
}

void after_fork_in_parent() noexcept {
    if (!g_fork_locked) return;
    g_fork_locked = false;
    if (Tap* t = g_tap.load(std::memory_order_acquire)) t->connections.mutex().unlock();
    g_tap_creation.unlock();
}

void after_fork_in_child() noexcept {
    // The parent's connections and producer stay the parent's: their threads are gone here and their
    // locks may be taken. Left as they are (never freed), forgotten; the child's first SPICE channel
    // starts its own producer. Only atomics here: the child of a threaded process may call nothing else.
    const bool locked = g_fork_locked;
    g_fork_locked = false;
    if (Tap* t = g_tap.exchange(nullptr)) {
        if (locked) t->connections.mutex().unlock();
    }
    new (&g_tap_creation) std::mutex();
    for (int fd = 0; fd < FdStates::kSize; ++fd) g_fds.change(fd, FdStates::tracked, FdStates::ignored);
}

__attribute__((constructor)) void load() noexcept {
    ::pthread_atfork(before_fork, after_fork_in_parent, after_fork_in_child);
}

__attribute__((destructor)) void unload() noexcept {
    // The process exits: close its channels at the daemon and give the last messages a moment to leave.
    // Bounded: a stopped daemon costs at most this wait, once. The producer itself is left running (its
    // thread ends with the process); other threads' calls pass straight through from here on.
    Tap* t = g_tap.load(std::memory_order_acquire);
    if (t == nullptr || t_inside) {
        g_exiting.store(true);
        return;
    }
    as_tap([&] {
        if (t->connections.mutex().try_lock()) {
            t->connections.mutex().unlock();
            t->connections.finish_all();
        }
    });
    g_exiting.store(true);
    t_inside = true;
    t->sink.flush(std::chrono::milliseconds(300));
}

}  // namespace

// ---- the interposed calls -------------------------------------------------------------------------------

SPICECAP_TAP_EXPORT ssize_t read(int fd, void* buffer, size_t size) {
    const ssize_t n = t_resolving ? ::syscall(SYS_read, fd, buffer, size) : REAL(read)(fd, buffer, size);
    fd_moved(fd, Transfer::received, buffer, n);
    return n;
}

SPICECAP_TAP_EXPORT ssize_t write(int fd, const void* buffer, size_t size) {
    const ssize_t n = t_resolving ? ::syscall(SYS_write, fd, buffer, size) : REAL(write)(fd, buffer, size);
    fd_moved(fd, Transfer::sent, buffer, n);
    return n;
}

SPICECAP_TAP_EXPORT ssize_t readv(int fd, const struct iovec* buffers, int count) {
    const ssize_t n = t_resolving ? ::syscall(SYS_readv, fd, buffers, count) : REAL(readv)(fd, buffers, count);
    if (count > 0) fd_moved(fd, Transfer::received, buffers, static_cast<std::size_t>(count), n);
    return n;
}

SPICECAP_TAP_EXPORT ssize_t writev(int fd, const struct iovec* buffers, int count) {
    const ssize_t n = t_resolving ? ::syscall(SYS_writev, fd, buffers, count) : REAL(writev)(fd, buffers, count);
    if (count > 0) fd_moved(fd, Transfer::sent, buffers, static_cast<std::size_t>(count), n);
    return n;
}

SPICECAP_TAP_EXPORT ssize_t recv(int fd, void* buffer, size_t size, int flags) {
    const ssize_t n = t_resolving ? ::syscall(SYS_recvfrom, fd, buffer, size, flags, nullptr, nullptr)
                                    : REAL(recv)(fd, buffer, size, flags);
    if (!peeking(flags)) fd_moved(fd, Transfer::received, buffer, n);
    return n;
}

SPICECAP_TAP_EXPORT ssize_t send(int fd, const void* buffer, size_t size, int flags) {
    const ssize_t n = t_resolving ? ::syscall(SYS_sendto, fd, buffer, size, flags, nullptr, 0)
                                    : REAL(send)(fd, buffer, size, flags);
    fd_moved(fd, Transfer::sent, buffer, n);
    return n;
}

SPICECAP_TAP_EXPORT ssize_t recvfrom(int fd, void* buffer, size_t size, int flags, struct sockaddr* from,
                                     socklen_t* from_size) {
    const ssize_t n = t_resolving ? ::syscall(SYS_recvfrom, fd, buffer, size, flags, from, from_size)
                                    : REAL(recvfrom)(fd, buffer, size, flags, from, from_size);
    if (!peeking(flags)) fd_moved(fd, Transfer::received, buffer, n);
    return n;
}

SPICECAP_TAP_EXPORT ssize_t sendto(int fd, const void* buffer, size_t size, int flags, const struct sockaddr* to,
                                   socklen_t to_size) {
    const ssize_t n = t_resolving ? ::syscall(SYS_sendto, fd, buffer, size, flags, to, to_size)
                                    : REAL(sendto)(fd, buffer, size, flags, to, to_size);
    fd_moved(fd, Transfer::sent, buffer, n);
    return n;
}

SPICECAP_TAP_EXPORT ssize_t recvmsg(int fd, struct msghdr* message, int flags) {
    const ssize_t n = t_resolving ? ::syscall(SYS_recvmsg, fd, message, flags) : REAL(recvmsg)(fd, message, flags);
    if (n > 0 && !peeking(flags) && message->msg_iovlen > 0)
        fd_moved(fd, Transfer::received, message->msg_iov, message->msg_iovlen, n);
    return n;
}

SPICECAP_TAP_EXPORT ssize_t sendmsg(int fd, const struct msghdr* message, int flags) {
    const ssize_t n = t_resolving ? ::syscall(SYS_sendmsg, fd, message, flags) : REAL(sendmsg)(fd, message, flags);
    if (n > 0 && message->msg_iovlen > 0) fd_moved(fd, Transfer::sent, message->msg_iov, message->msg_iovlen, n);
    return n;
}

SPICECAP_TAP_EXPORT int close(int fd) {
    fd_reset(fd);
    return t_resolving ? static_cast<int>(::syscall(SYS_close, fd)) : REAL(close)(fd);
}

SPICECAP_TAP_EXPORT int close_range(unsigned int first, unsigned int last, int flags) {
    if ((flags & CLOSE_RANGE_CLOEXEC) == 0) {
        for (unsigned int fd = first; fd <= last && fd < static_cast<unsigned int>(FdStates::kSize); ++fd)
            fd_reset(static_cast<int>(fd));
    }
    return t_resolving ? static_cast<int>(::syscall(SYS_close_range, first, last, flags))
                       : REAL(close_range)(first, last, flags);
}

SPICECAP_TAP_EXPORT int dup(int fd) {
    const int copy = t_resolving ? static_cast<int>(::syscall(SYS_dup, fd)) : REAL(dup)(fd);
    if (copy >= 0) {
        const int saved_errno = errno;
        fd_duplicated(fd, copy);
        errno = saved_errno;
    }
    return copy;
}

SPICECAP_TAP_EXPORT int dup2(int fd, int to) {
    const int copy = t_resolving ? dup2_by_system_call(fd, to) : REAL(dup2)(fd, to);
    if (copy >= 0) {
        const int saved_errno = errno;
        fd_duplicated(fd, copy);
        errno = saved_errno;
    }
    return copy;
}

SPICECAP_TAP_EXPORT int dup3(int fd, int to, int flags) {
    const int copy = t_resolving ? static_cast<int>(::syscall(SYS_dup3, fd, to, flags)) : REAL(dup3)(fd, to, flags);
    if (copy >= 0) {
        const int saved_errno = errno;
        fd_duplicated(fd, copy);
        errno = saved_errno;
    }
    return copy;
}

// New sockets start unknown, even if the tap missed the close of an earlier descriptor with their number
// (fclose, or a close made inside libc, never reaches close() above).
SPICECAP_TAP_EXPORT int socket(int domain, int type, int protocol) {
    const int fd = t_resolving ? static_cast<int>(::syscall(SYS_socket, domain, type, protocol))
                                 : REAL(socket)(domain, type, protocol);
    if (fd >= 0) fd_reset(fd);
    return fd;
}

SPICECAP_TAP_EXPORT int socketpair(int domain, int type, int protocol, int fds[2]) {
    const int result = t_resolving ? static_cast<int>(::syscall(SYS_socketpair, domain, type, protocol, fds))
                                    : REAL(socketpair)(domain, type, protocol, fds);
    if (result == 0) {
        fd_reset(fds[0]);
        fd_reset(fds[1]);
    }
    return result;
}

SPICECAP_TAP_EXPORT int accept(int fd, struct sockaddr* address, socklen_t* address_size) {
    const int connection = t_resolving ? static_cast<int>(::syscall(SYS_accept4, fd, address, address_size, 0))
                                        : REAL(accept)(fd, address, address_size);
    if (connection >= 0) fd_reset(connection);
    return connection;
}

SPICECAP_TAP_EXPORT int accept4(int fd, struct sockaddr* address, socklen_t* address_size, int flags) {
    const int connection = t_resolving ? static_cast<int>(::syscall(SYS_accept4, fd, address, address_size, flags))
                                        : REAL(accept4)(fd, address, address_size, flags);
    if (connection >= 0) fd_reset(connection);
    return connection;
}

// ---- OpenSSL: the plaintext of TLS connections ----------------------------------------------------------

extern "C" {
int SSL_read(ssl_st* ssl, void* buffer, int size);
int SSL_write(ssl_st* ssl, const void* buffer, int size);
int SSL_read_ex(ssl_st* ssl, void* buffer, size_t size, size_t* read);
int SSL_write_ex(ssl_st* ssl, const void* buffer, size_t size, size_t* written);
void SSL_free(ssl_st* ssl);
}

SPICECAP_TAP_EXPORT int SSL_read(ssl_st* ssl, void* buffer, int size) {
    const int n = REAL(SSL_read)(ssl, buffer, size);
    if (n > 0) ssl_moved(ssl, Transfer::received, buffer, static_cast<std::size_t>(n));
    return n;
}

SPICECAP_TAP_EXPORT int SSL_write(ssl_st* ssl, const void* buffer, int size) {
    const int n = REAL(SSL_write)(ssl, buffer, size);
    if (n > 0) ssl_moved(ssl, Transfer::sent, buffer, static_cast<std::size_t>(n));
    return n;
}

SPICECAP_TAP_EXPORT int SSL_read_ex(ssl_st* ssl, void* buffer, size_t size, size_t* read) {
    const int ok = REAL(SSL_read_ex)(ssl, buffer, size, read);
    if (ok == 1 && read != nullptr) ssl_moved(ssl, Transfer::received, buffer, *read);
    return ok;
}

SPICECAP_TAP_EXPORT int SSL_write_ex(ssl_st* ssl, const void* buffer, size_t size, size_t* written) {
    const int ok = REAL(SSL_write_ex)(ssl, buffer, size, written);
    if (ok == 1 && written != nullptr) ssl_moved(ssl, Transfer::sent, buffer, *written);
    return ok;
}

SPICECAP_TAP_EXPORT void SSL_free(ssl_st* ssl) {
    if (ssl != nullptr && g_tap.load(std::memory_order_acquire) != nullptr)
        as_tap([&] { tap().connections.ssl_freed(ssl); });
    REAL(SSL_free)(ssl);
}
