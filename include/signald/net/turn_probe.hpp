#pragma once
// TurnProbe: carries out one TurnCheck against one TURN server over UDP, TCP or TLS (turns:),
// on the caller's io_context and never blocking it (async resolve, connect, handshake, I/O).
// It moves bytes and fires timers; every decision is TurnCheck's. TurnMonitor starts probes and
// owns what they report; a probe holds no secret beyond the one credential it was given.

#include "signald/net/beast.hpp"
#include "signald/turn/turn_check.hpp"

#include <boost/asio/ssl.hpp>

#include <functional>
#include <memory>
#include <optional>

namespace signald {

class TurnProbe : public std::enable_shared_from_this<TurnProbe>
{
public:
    using Done = std::function<void(TurnCheckResult)>;

    // Starts a check of target with these credentials; done is called once, on the io_context,
    // unless stop() came first. tls is only used (and must outlive the probe) for turns:.
    static std::shared_ptr<TurnProbe> start(net::io_context& ioc, net::ssl::context& tls,
                                            TurnTarget target, std::string username,
                                            std::string password, Done done);

    // Closes everything at once; done is not called.
    void stop();

    TurnProbe(net::io_context& ioc, net::ssl::context& tls, TurnTarget target, std::string username,
              std::string password, Done done);

private:
    using Udp = net::ip::udp;

    void do_resolve();
    void on_resolve_udp(const error_code& ec, const Udp::resolver::results_type& results);
    void on_resolve_tcp(const error_code& ec, const tcp::resolver::results_type& results);
    void on_connect(const error_code& ec, const tcp::endpoint& endpoint);
    void on_handshake(const error_code& ec);
    void begin();
    void do_read();
    void on_read(const error_code& ec, std::size_t bytes);
    void do_write();
    void on_write(const error_code& ec);
    void arm_timer(std::chrono::milliseconds after);
    void on_timer(const error_code& ec);
    void apply(TurnCheck::Step step);
    void finish(TurnCheckResult result);
    std::string where() const; // "udp 127.0.0.1:3478"

    net::io_context& ioc_;
    net::ssl::context& tls_;
    TurnTarget target_;
    TurnCheck check_;
    Done done_;
    std::chrono::steady_clock::time_point started_;
    bool finished_ = false;
    bool talking_ = false; // resolved, connected (and TLS done): TurnCheck runs

    Udp::resolver udp_resolver_;
    tcp::resolver tcp_resolver_;
    std::optional<Udp::socket> udp_;
    std::optional<tcp::socket> tcp_;
    std::optional<net::ssl::stream<tcp::socket&>> tls_stream_;
    std::string endpoint_text_;
    net::steady_timer timer_;
    std::array<std::uint8_t, 4096> read_buffer_{};
    std::vector<std::vector<std::uint8_t>> outbox_;
    bool writing_ = false;
};

} // namespace signald
