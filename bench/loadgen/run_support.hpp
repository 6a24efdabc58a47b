#pragma once
// Small pieces the scenarios share: turning Options into MeshOptions, and CPU-free waiting for a
// condition with a deadline on the io_context's own thread.

#include "clock.hpp"
#include "mesh.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <functional>

namespace bench {

struct Options;

MeshOptions mesh_options_from(const Options& options, std::size_t clients);

// Polls done() every 10 ms until it holds or deadline passes, then calls finished(held).
// The timer must outlive the wait.
void wait_until(boost::asio::steady_timer& timer, Clock::time_point deadline,
                std::function<bool()> done, std::function<void(bool)> finished);

// Seconds as a steady_clock duration.
Clock::duration seconds(double value);

} // namespace bench
