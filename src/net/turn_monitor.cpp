#include "signald/net/turn_monitor.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace signald {

std::optional<std::string> TurnMonitor::nothing_to_check(const IceOptions& options)
{
    if (std::none_of(options.urls.begin(), options.urls.end(), is_turn_url))
        return std::string("no turn: or turns: --ice-server to check");
    if (options.turn_secret.empty())
        return std::string("turn: URLs without --turn-secret (or --turn-secret-file) cannot be "
                           "checked: signald does not know their credentials");
    return std::nullopt;
}

TurnMonitor::TurnMonitor(net::io_context& ioc, const IceOptions& options,
                         std::chrono::seconds interval, bool log_results)
    : ioc_(ioc), options_(options), interval_(interval), log_results_(log_results),
      tls_(net::ssl::context::tls_client), timer_(ioc)
{
    // The system's CAs, as a browser trusts them (SSL_CERT_FILE and SSL_CERT_DIR are honoured).
    tls_.set_default_verify_paths();
    if (nothing_to_check(options_))
        return;
    for (const std::string& url : options_.urls)
        if (auto target = turn_target(url)) {
            targets_.push_back(std::move(*target));
            TurnCheckStatus status;
            status.url = url;
            statuses_.push_back(std::move(status));
        }
    probes_.resize(targets_.size());
}

TurnMonitor::~TurnMonitor()
{
    stop();
}

void TurnMonitor::start()
{
    if (targets_.empty())
        return;
    run_round([this] { schedule(); });
}

void TurnMonitor::schedule()
{
    if (interval_.count() == 0 || stopped_)
        return;
    timer_.expires_after(interval_);
    timer_.async_wait([this](const error_code& ec) {
        if (!ec && !stopped_)
            run_round([this] { schedule(); });
    });
}

void TurnMonitor::run_once(std::function<void()> done)
{
    if (targets_.empty())
        return done();
    run_round(std::move(done));
}

void TurnMonitor::run_round(std::function<void()> done)
{
    round_done_ = std::move(done);
    pending_ = targets_.size();
    // One credential for the round, made exactly as a joined's: the same function, secret and TTL.
    const TurnCredential credential = turn_credential(
        options_.turn_secret, client_id, std::chrono::system_clock::now(), options_.turn_ttl);
    for (std::size_t i = 0; i < targets_.size(); ++i)
        probes_[i] = TurnProbe::start(
            ioc_, tls_, targets_[i], credential.username, credential.credential,
            [this, i](TurnCheckResult result) { on_result(i, std::move(result)); });
}

void TurnMonitor::on_result(std::size_t index, TurnCheckResult result)
{
    probes_[index].reset();
    TurnCheckStatus& status = statuses_[index];
    const bool changed = !status.checked || status.ok != result.ok || status.error != result.error;
    status.checked = true;
    status.ok = result.ok;
    status.relay = std::move(result.relay);
    status.error = std::move(result.error);
    status.duration = result.duration;
    status.finished_at =
        std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
    ++status.checks;
    if (!status.ok)
        ++status.failures;
    // Only a change is news: the relay port differs every time, so it does not count.
    if (changed && log_results_) {
        if (status.ok)
            spdlog::info("{}", turn_check_line(status));
        else
            spdlog::warn("{}", turn_check_line(status));
    }
    if (--pending_ == 0 && round_done_) {
        auto done = std::move(round_done_);
        round_done_ = nullptr;
        done();
    }
}

void TurnMonitor::stop()
{
    stopped_ = true;
    timer_.cancel();
    for (auto& probe : probes_)
        if (probe) {
            probe->stop();
            probe.reset();
        }
    round_done_ = nullptr;
}

} // namespace signald
