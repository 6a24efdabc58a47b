#pragma once
// TurnMonitor: the TURN self-test over time. It checks every turn:/turns: URL with a TurnProbe at
// start-up and then every interval, with credentials made by turn_credential exactly as clients
// get them, keeps each URL's last result (TurnCheckStatus) for /metrics and /healthz?verbose, and
// logs a result only when it differs from the one before, so a steady state logs nothing. main
// owns it; `signald check` uses run_once. It never changes what clients are sent.

#include "signald/net/beast.hpp"
#include "signald/net/turn_probe.hpp"
#include "signald/turn/turn_status.hpp"
#include "signald/turn_credentials.hpp"

#include <boost/asio/ssl.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace signald {

class TurnMonitor
{
public:
    // The client id inside the checks' usernames ("<expiry>:signald-check"), so that the TURN
    // server's own log tells the self-test from the calls.
    static constexpr std::string_view client_id = "signald-check";

    TurnMonitor(net::io_context& ioc, const IceOptions& options, std::chrono::seconds interval,
                bool log_results = true);
    ~TurnMonitor();
    TurnMonitor(const TurnMonitor&) = delete;
    TurnMonitor& operator=(const TurnMonitor&) = delete;

    // Why there is nothing to check (no turn: URL, or no TURN secret), or nullopt.
    static std::optional<std::string> nothing_to_check(const IceOptions& options);

    // Checks now, then every interval (0: only now) until stop().
    void start();
    // Checks every URL once; done runs when all have finished.
    void run_once(std::function<void()> done);
    // Stops the probes in flight and the schedule (at shutdown, so the io_context can end).
    void stop();

    const std::vector<TurnCheckStatus>& statuses() const { return statuses_; }

private:
    void run_round(std::function<void()> done);
    void on_result(std::size_t index, TurnCheckResult result);
    void schedule();

    net::io_context& ioc_;
    IceOptions options_;
    std::chrono::seconds interval_;
    bool log_results_;
    net::ssl::context tls_;
    net::steady_timer timer_;
    std::vector<TurnTarget> targets_;
    std::vector<TurnCheckStatus> statuses_;
    std::vector<std::shared_ptr<TurnProbe>> probes_;
    std::size_t pending_ = 0;
    std::function<void()> round_done_;
    bool stopped_ = false;
};

} // namespace signald
