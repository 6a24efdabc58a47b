#pragma once
// TurnCheck: one TURN self-test as a browser would make it, as a state machine without sockets or
// clock. Allocate (REQUESTED-TRANSPORT UDP) without credentials, expect 401 with REALM and NONCE,
// Allocate again with the long-term credentials signald hands to clients, read the relay address,
// then Refresh with LIFETIME 0 so the server frees the allocation at once. The driver
// (net/turn_probe) reports what happened (bytes, timer, transport error) and does what each Step
// says; every failure path has a unit test with scripted answers.

#include "signald/turn/stun_message.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace signald {

enum class TurnTransport : std::uint8_t
{
    udp,
    plain_tcp,
    tls, // turns:, TLS over TCP
};

std::string_view to_string(TurnTransport transport);

// Where and how a turn: or turns: URL is reached (RFC 7065): the transport its ?transport= says
// (default udp for turn:, tcp, i.e. TLS, for turns:), port 3478 or 5349 by default.
struct TurnTarget
{
    std::string url;  // as configured
    std::string host; // without brackets for IPv6
    std::uint16_t port = 0;
    TurnTransport transport = TurnTransport::udp;
};

// The target of a URL that passed ice_url_problem, or nullopt when it is not turn:/turns:.
std::optional<TurnTarget> turn_target(std::string_view url);

struct TurnCheckResult
{
    bool ok = false;
    std::string relay; // "203.0.113.10:49152" once allocated (also when the Refresh then failed)
    std::string error; // why not ok, one line
    std::chrono::milliseconds duration{0}; // filled by the driver
};

class TurnCheck
{
public:
    // What the driver does next: send these messages (in order), (re)arm the one timer when set,
    // and stop everything when done is set.
    struct Step
    {
        std::vector<std::vector<std::uint8_t>> send;
        std::optional<std::chrono::milliseconds> timer;
        std::optional<TurnCheckResult> done;
    };

    // The whole wait for one answer, over UDP spread over retransmissions (RFC 8489 6.2.1:
    // RTO 500 ms, doubled each time; 4 sends instead of 7 and 5 s instead of 39.5, so a dead
    // server is reported while the operator still waits for it).
    static constexpr std::chrono::milliseconds answer_timeout{5000};
    static constexpr std::chrono::milliseconds first_rto{500};

    // stream: TCP or TLS (no retransmission; messages back to back). new_id: a fresh random
    // transaction id each call.
    TurnCheck(std::string username, std::string password, bool stream,
              std::function<StunTransactionId()> new_id);

    Step start();
    // A datagram (UDP) or any chunk of the stream (TCP, TLS).
    Step on_bytes(std::span<const std::uint8_t> bytes);
    Step on_timer();
    // The transport failed: what happened, in words ("connection refused").
    Step on_transport_error(std::string what);

    bool finished() const { return phase_ == Phase::done; }

private:
    enum class Phase : std::uint8_t
    {
        allocate_unauthenticated,
        allocate,
        refresh,
        done,
    };

    Step send_request(Phase phase);
    Step on_message(std::span<const std::uint8_t> bytes, const StunMessage& message);
    Step on_error(const StunMessage& message);
    Step fail(std::string error);
    Step succeed();

    std::string username_;
    std::string password_;
    bool stream_;
    std::function<StunTransactionId()> new_id_;

    Phase phase_ = Phase::allocate_unauthenticated;
    std::optional<std::string> realm_;
    std::optional<std::string> nonce_;
    std::optional<std::string> key_; // the long-term key, once REALM is known
    std::string relay_;
    bool retried_stale_nonce_ = false;

    // The request in flight, for retransmission.
    StunTransactionId transaction_id_{};
    std::vector<std::uint8_t> request_;
    int sends_ = 0;
    std::chrono::milliseconds waited_{0};
    std::chrono::milliseconds next_wait_{0};
    std::vector<std::uint8_t> stream_buffer_;
};

} // namespace signald
