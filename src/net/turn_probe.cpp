#include "signald/net/turn_probe.hpp"

#include <openssl/rand.h>

#include <spdlog/spdlog.h>

namespace signald {
namespace {

StunTransactionId random_transaction_id()
{
    StunTransactionId id{};
    if (RAND_bytes(id.data(), static_cast<int>(id.size())) != 1)
        throw std::runtime_error("RAND_bytes failed"); // only if libcrypto itself is broken
    return id;
}

std::string endpoint_text(const net::ip::address& address, std::uint16_t port)
{
    const std::string text = address.to_string();
    return address.is_v6() ? "[" + text + "]:" + std::to_string(port)
                           : text + ":" + std::to_string(port);
}

} // namespace

std::shared_ptr<TurnProbe> TurnProbe::start(net::io_context& ioc, net::ssl::context& tls,
                                            TurnTarget target, std::string username,
                                            std::string password, Done done)
{
    auto probe = std::make_shared<TurnProbe>(ioc, tls, std::move(target), std::move(username),
                                             std::move(password), std::move(done));
    probe->do_resolve();
    return probe;
}

TurnProbe::TurnProbe(net::io_context& ioc, net::ssl::context& tls, TurnTarget target,
                     std::string username, std::string password, Done done)
    : ioc_(ioc), tls_(tls), target_(std::move(target)),
      check_(std::move(username), std::move(password), target_.transport != TurnTransport::udp,
             random_transaction_id),
      done_(std::move(done)), started_(std::chrono::steady_clock::now()), udp_resolver_(ioc),
      tcp_resolver_(ioc), timer_(ioc)
{}

std::string TurnProbe::where() const
{
    return std::string(to_string(target_.transport)) + " " +
           (endpoint_text_.empty() ? target_.host + ":" + std::to_string(target_.port)
                                   : endpoint_text_);
}

void TurnProbe::do_resolve()
{
    // Resolve, connect and handshake share the answer timeout: a black-holed address would
    // otherwise wait for the kernel's two minutes of SYN retries.
    arm_timer(TurnCheck::answer_timeout);
    const auto port = std::to_string(target_.port);
    if (target_.transport == TurnTransport::udp)
        udp_resolver_.async_resolve(
            target_.host, port,
            [self = shared_from_this()](const error_code& ec, Udp::resolver::results_type r) {
                self->on_resolve_udp(ec, r);
            });
    else
        tcp_resolver_.async_resolve(
            target_.host, port,
            [self = shared_from_this()](const error_code& ec, tcp::resolver::results_type r) {
                self->on_resolve_tcp(ec, r);
            });
}

void TurnProbe::on_resolve_udp(const error_code& ec, const Udp::resolver::results_type& results)
{
    if (finished_)
        return;
    if (ec || results.empty())
        return finish({false, {}, "cannot resolve " + target_.host + ": " + ec.message(), {}});
    // The first address, as a browser's first candidate pair would use. Connected, so that an
    // ICMP port unreachable comes back as an error instead of a silent timeout.
    const Udp::endpoint endpoint = results.begin()->endpoint();
    endpoint_text_ = endpoint_text(endpoint.address(), endpoint.port());
    error_code error;
    udp_.emplace(ioc_);
    udp_->open(endpoint.protocol(), error);
    if (!error)
        udp_->connect(endpoint, error);
    if (error)
        return finish({false, {}, where() + ": " + error.message(), {}});
    begin();
}

void TurnProbe::on_resolve_tcp(const error_code& ec, const tcp::resolver::results_type& results)
{
    if (finished_)
        return;
    if (ec || results.empty())
        return finish({false, {}, "cannot resolve " + target_.host + ": " + ec.message(), {}});
    const tcp::endpoint first = results.begin()->endpoint();
    endpoint_text_ = endpoint_text(first.address(), first.port());
    tcp_.emplace(ioc_);
    net::async_connect(
        *tcp_, results,
        [self = shared_from_this()](const error_code& error, const tcp::endpoint& endpoint) {
            self->on_connect(error, endpoint);
        });
}

void TurnProbe::on_connect(const error_code& ec, const tcp::endpoint& endpoint)
{
    if (finished_)
        return;
    if (!ec)
        endpoint_text_ = endpoint_text(endpoint.address(), endpoint.port());
    if (ec == net::error::connection_refused)
        return finish({false, {}, "connection refused (nothing listening on " + where() + ")", {}});
    if (ec)
        return finish({false, {}, "cannot connect to " + where() + ": " + ec.message(), {}});
    if (target_.transport != TurnTransport::tls)
        return begin();

    // turns: is checked as a browser would: the system's CAs, the URL's host name (SNI too).
    tls_stream_.emplace(*tcp_, tls_);
    SSL_set_tlsext_host_name(tls_stream_->native_handle(), target_.host.c_str());
    tls_stream_->set_verify_mode(net::ssl::verify_peer);
    tls_stream_->set_verify_callback(net::ssl::host_name_verification(target_.host));
    tls_stream_->async_handshake(
        net::ssl::stream_base::client,
        [self = shared_from_this()](const error_code& error) { self->on_handshake(error); });
}

void TurnProbe::on_handshake(const error_code& ec)
{
    if (finished_)
        return;
    if (ec)
        return finish(
            {false, {}, "TLS handshake with " + where() + " failed: " + ec.message(), {}});
    begin();
}

void TurnProbe::begin()
{
    talking_ = true;
    do_read();
    apply(check_.start());
}

void TurnProbe::do_read()
{
    auto handler = [self = shared_from_this()](const error_code& ec, std::size_t bytes) {
        self->on_read(ec, bytes);
    };
    const auto buffer = net::buffer(read_buffer_);
    if (udp_)
        udp_->async_receive(buffer, std::move(handler));
    else if (tls_stream_)
        tls_stream_->async_read_some(buffer, std::move(handler));
    else
        tcp_->async_read_some(buffer, std::move(handler));
}

void TurnProbe::on_read(const error_code& ec, std::size_t bytes)
{
    if (finished_)
        return;
    if (ec == net::error::connection_refused)
        return apply(
            check_.on_transport_error("port unreachable (nothing listening on " + where() + ")"));
    if (ec == net::error::eof || ec == net::ssl::error::stream_truncated)
        return apply(check_.on_transport_error("the server closed the connection"));
    if (ec)
        return apply(check_.on_transport_error(where() + ": " + ec.message()));
    auto step = check_.on_bytes(std::span(read_buffer_.data(), bytes));
    do_read();
    apply(std::move(step));
}

void TurnProbe::apply(TurnCheck::Step step)
{
    if (step.done)
        return finish(std::move(*step.done));
    for (auto& message : step.send)
        outbox_.push_back(std::move(message));
    if (step.timer)
        arm_timer(*step.timer);
    do_write();
}

void TurnProbe::do_write()
{
    if (writing_ || outbox_.empty())
        return;
    writing_ = true;
    auto handler = [self = shared_from_this()](const error_code& ec, std::size_t) {
        self->on_write(ec);
    };
    const auto buffer = net::buffer(outbox_.front());
    if (udp_)
        udp_->async_send(buffer, std::move(handler));
    else if (tls_stream_)
        net::async_write(*tls_stream_, buffer, std::move(handler));
    else
        net::async_write(*tcp_, buffer, std::move(handler));
}

void TurnProbe::on_write(const error_code& ec)
{
    writing_ = false;
    if (finished_)
        return;
    outbox_.erase(outbox_.begin());
    if (ec == net::error::connection_refused)
        return apply(
            check_.on_transport_error("port unreachable (nothing listening on " + where() + ")"));
    if (ec)
        return apply(check_.on_transport_error(where() + ": " + ec.message()));
    do_write();
}

void TurnProbe::arm_timer(std::chrono::milliseconds after)
{
    timer_.expires_after(after);
    timer_.async_wait([self = shared_from_this()](const error_code& ec) { self->on_timer(ec); });
}

void TurnProbe::on_timer(const error_code& ec)
{
    if (ec || finished_)
        return;    // operation_aborted: re-armed or stopped
    if (!talking_) // the timer bounded resolve, connect and handshake
        return finish({false,
                       {},
                       "timeout: no " + std::string(to_string(target_.transport)) +
                           " connection to " + where() + " within " +
                           std::to_string(TurnCheck::answer_timeout.count() / 1000) + " s",
                       {}});
    apply(check_.on_timer());
}

void TurnProbe::finish(TurnCheckResult result)
{
    if (finished_)
        return;
    finished_ = true;
    result.duration = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - started_);
    Done done = std::move(done_);
    stop();
    if (done)
        done(std::move(result));
}

void TurnProbe::stop()
{
    finished_ = true;
    done_ = nullptr;
    error_code ignored;
    timer_.cancel();
    udp_resolver_.cancel();
    tcp_resolver_.cancel();
    if (udp_)
        udp_->close(ignored);
    if (tcp_)
        tcp_->close(ignored);
}

} // namespace signald
