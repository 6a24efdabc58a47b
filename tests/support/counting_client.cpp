#include "counting_client.hpp"

#include <stdexcept>

namespace signald::test {

using nlohmann::json;
using SteadyClock = std::chrono::steady_clock;

namespace {

std::chrono::milliseconds left_until(SteadyClock::time_point deadline)
{
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now());
    return left.count() > 0 ? left : std::chrono::milliseconds(0);
}

std::string describe(const CountingClient::Ending& ending)
{
    if (ending.got_close_frame)
        return "close frame " + std::to_string(ending.code) +
               (ending.reason.empty() ? "" : " (" + ending.reason + ")");
    return "no close frame";
}

} // namespace

CountingClient::CountingClient(std::uint16_t port, int receive_buffer_bytes)
{
    if (receive_buffer_bytes > 0)
        raw_.set_receive_buffer(receive_buffer_bytes);
    raw_.connect(port);
}

void CountingClient::send_json(const json& message)
{
    raw_.send_text(message.dump());
}

void CountingClient::send_text(std::string_view text)
{
    raw_.send_text(text);
}

json CountingClient::join(std::string_view room_id, std::optional<std::string_view> name)
{
    json request{{"action", "join"}, {"roomId", room_id}};
    if (name)
        request["name"] = *name;
    send_json(request);
    json reply = next_json();
    if (reply.value("action", "") != "joined" || reply.value("roomId", "") != room_id)
        throw std::runtime_error("expected joined for room " + std::string(room_id) +
                                 ", got: " + excerpt(reply.dump()));
    return reply;
}

json CountingClient::resume(std::string_view token, std::uint64_t received)
{
    send_json({{"action", "resume"}, {"token", token}, {"received", received}});
    return next_json();
}

bool CountingClient::take_one(SteadyClock::time_point deadline)
{
    auto frame = raw_.next_frame(left_until(deadline));
    if (!frame)
        return false;
    switch (frame->opcode) {
    case opcode::text: {
        texts_.push_back(frame->payload);
        const json message = json::parse(frame->payload, nullptr, false);
        const std::string action = message.is_object() ? message.value("action", "") : "";
        if ((action == "joined" || action == "resumed") && message.contains("clientId"))
            client_id_ = message.value("clientId", "");
        if ((action == "joined" || action == "resumed") && message.contains("resumeToken")) {
            token_ = message.value("resumeToken", "");
            received_ = 0;
        } else {
            ++received_;
        }
        inbox_.push_back(std::move(frame->payload));
        break;
    }
    case opcode::ping:
        pings_.push_back(std::move(frame->payload));
        break;
    case opcode::close: {
        Ending ending;
        ending.got_close_frame = true;
        if (frame->payload.size() >= 2) {
            ending.code =
                static_cast<std::uint16_t>((static_cast<std::uint8_t>(frame->payload[0]) << 8) |
                                           static_cast<std::uint8_t>(frame->payload[1]));
            ending.reason = frame->payload.substr(2);
        }
        close_ = ending;
        break;
    }
    default:
        break;
    }
    return true;
}

json CountingClient::next_json(Duration timeout)
{
    const auto deadline = SteadyClock::now() + timeout;
    while (inbox_.empty() && !close_ && !raw_.ended() && take_one(deadline)) {
    }
    if (inbox_.empty()) {
        if (close_)
            throw std::runtime_error("expected a message, got " + describe(*close_));
        if (raw_.ended())
            throw std::runtime_error("expected a message, but the connection ended (" +
                                     raw_.end_error() + ")");
        throw std::runtime_error("expected a message within " + std::to_string(timeout.count()) +
                                 " ms, got none");
    }
    json message = json::parse(inbox_.front(), nullptr, false);
    if (message.is_discarded())
        throw std::runtime_error("server sent text that is not JSON: " + excerpt(inbox_.front()));
    inbox_.pop_front();
    return message;
}

::testing::AssertionResult CountingClient::expect_silence(Duration duration)
{
    const auto deadline = SteadyClock::now() + duration;
    while (inbox_.empty() && !close_ && !raw_.ended() && SteadyClock::now() < deadline)
        take_one(deadline);
    if (!inbox_.empty())
        return ::testing::AssertionFailure()
               << "expected silence, received: " << excerpt(inbox_.front());
    if (close_)
        return ::testing::AssertionFailure()
               << "expected silence, but the server closed: " << describe(*close_);
    if (raw_.ended())
        return ::testing::AssertionFailure() << "expected silence, but the connection ended";
    return ::testing::AssertionSuccess();
}

std::optional<std::string> CountingClient::wait_latest_ping(Duration timeout)
{
    const auto deadline = SteadyClock::now() + timeout;
    while (pings_.empty() && !raw_.ended() && take_one(deadline)) {
    }
    if (pings_.empty())
        return std::nullopt;
    // Frames already here, without waiting: a newer ping may be among them.
    while (!raw_.ended() && take_one(SteadyClock::now())) {
    }
    std::string payload = std::move(pings_.back());
    pings_.clear();
    return payload;
}

void CountingClient::pong(std::string_view payload)
{
    raw_.send_frame(opcode::pong, payload);
}

CountingClient::Ending CountingClient::wait_close(Duration timeout)
{
    const auto deadline = SteadyClock::now() + timeout;
    while (!raw_.ended() && take_one(deadline)) {
    }
    inbox_.clear();
    Ending ending = close_.value_or(Ending{});
    ending.ended = raw_.ended();
    return ending;
}

} // namespace signald::test
