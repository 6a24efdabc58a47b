#include "run_support.hpp"

#include "options.hpp"
#include "ws_target.hpp"

namespace bench {

MeshOptions mesh_options_from(const Options& options, std::size_t clients)
{
    MeshOptions mesh;
    mesh.targets = parse_ws_urls(options.url);
    if (!options.sources.empty())
        mesh.sources = parse_sources(options.sources);
    mesh.clients = clients;
    mesh.members = options.members;
    mesh.seed = options.seed;
    mesh.self_test_corrupt = options.self_test_corrupt;
    return mesh;
}

Clock::duration seconds(double value)
{
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(value));
}

void wait_until(boost::asio::steady_timer& timer, Clock::time_point deadline,
                std::function<bool()> done, std::function<void(bool)> finished)
{
    if (done())
        return finished(true);
    if (Clock::now() >= deadline)
        return finished(false);
    // 10 ms: fine enough for a drain measured in seconds, coarse enough to cost nothing.
    timer.expires_after(std::chrono::milliseconds(10));
    timer.async_wait([&timer, deadline, done = std::move(done),
                      finished = std::move(finished)](const boost::system::error_code& ec) mutable {
        if (ec)
            return;
        wait_until(timer, deadline, std::move(done), std::move(finished));
    });
}

} // namespace bench
