#pragma once
// The one way the synchronous test clients wait: run their private io_context until done() holds
// or the deadline passes. Nothing sleeps; a deadline always decides.

#include <boost/asio/io_context.hpp>

#include <chrono>

namespace signald::test {

template <class Done>
bool run_until(boost::asio::io_context& ioc, Done done,
               std::chrono::steady_clock::time_point deadline)
{
    while (!done()) {
        const auto now = std::chrono::steady_clock::now();
        if (now >= deadline)
            return false;
        if (ioc.stopped())
            ioc.restart();
        // run_one_for returns 0 both on timeout and when no work is left; only the latter stops
        // the io_context, and then nothing can change done() any more.
        if (ioc.run_one_for(deadline - now) == 0 && ioc.stopped())
            return done();
    }
    return true;
}

} // namespace signald::test
