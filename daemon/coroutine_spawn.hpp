// Starting the daemon's coroutines. asio::detached would swallow an exception that escapes a coroutine:
// the connection would vanish without a word and whatever its coroutine meant to do at its end (close its
// session, leave its subscriber slot) would never happen. Every coroutine of the daemon is started here
// instead: an escaping exception is logged with who it happened to, and `done` runs however the coroutine
// ended.
#pragma once

#include <exception>
#include <functional>
#include <string>
#include <utility>

#include <asio/awaitable.hpp>
#include <asio/co_spawn.hpp>

#include "log.hpp"

namespace spicecap::daemon {

/// The text of an escaped exception, for a log line.
inline std::string exception_text(const std::exception_ptr& error) {
    try {
        std::rethrow_exception(error);
    } catch (const std::exception& e) {
        return e.what();
    } catch (...) {
        return "an exception that is not a std::exception";
    }
}

/// Runs `work` on `where` (an executor or the io_context). If an exception escapes it, logs
/// "WHO: failed: WHAT" (who() is called only then, so it may describe the state at that moment); then
/// calls done(true if it failed).
template <typename ExecutorOrContext>
void spawn_coroutine(ExecutorOrContext&& where, asio::awaitable<void> work, std::function<std::string()> who,
                     std::function<void(bool failed)> done) {
    asio::co_spawn(std::forward<ExecutorOrContext>(where), std::move(work),
                   [who = std::move(who), done = std::move(done)](std::exception_ptr error) {
                       if (error) log(LogLevel::error, who(), ": failed: ", exception_text(error));
                       if (done) done(error != nullptr);
                   });
}

}  // namespace spicecap::daemon
