// fuzz_hub: drives one Hub through a sequence of steps decoded from the input (connect, disconnect,
// join, leave, signal, raw text, floods, clock moves) and after every step checks that the room
// registry, Hub's per-client state and what each client was told all agree. What each client was
// told is kept and checked by the shared oracle (tests/support/client_view.hpp). Messages are
// mostly built from templates filled from the input, so runs get past parse errors into room
// states.

#include "client_view.hpp"
#include "json_reference.hpp"

#include "signald/core/close_codes.hpp"
#include "signald/core/hub.hpp"

#include <fuzzer/FuzzedDataProvider.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

using namespace signald;
using nlohmann::json;

// Small enough that rooms fill up and clients collide often.
constexpr std::size_t max_room_size = 4;
constexpr std::size_t max_clients = 7;
constexpr std::size_t max_steps = 256;
// Ids are drawn from a cycle this long, so Hub retries on collisions and reuses departed ids.
constexpr std::size_t id_cycle = 10;

// SIGNALD_FUZZ_TRACE=1 prints each step and message: how to read what a saved input does.
bool trace = false;

ClientId numbered_id(std::size_t n)
{
    std::string digits = std::to_string(n);
    return std::string(client_id_chars - digits.size(), 'a') + digits;
}

class CyclingIds final : public IdSource
{
public:
    ClientId next() override { return numbered_id(next_++ % id_cycle); }
    ResumeSecret secret() override { return ResumeSecret{}; } // resume is off here

private:
    std::size_t next_ = 0;
};

// The Transport: checks each message as it is sent and applies it to the receiver's view.
class Recorder final : public Transport
{
public:
    void send(const ClientId& to, const Text& text) override
    {
        if (trace)
            std::fprintf(stderr, "    -> %s %s\n", to.c_str(), text->c_str());
        FUZZ_CHECK(connected.contains(to));
        ++sent;
        // A broadcast hands every member the same Text: parse it once. Replies carry `data`
        // verbatim, so an oversized number in it is allowed, and read as 0.
        if (text != last_text_) {
            last_text_ = text;
            last_parsed_ = fuzz::parse_json(*text);
            FUZZ_CHECK(!last_parsed_.is_discarded());
        }
        // Room ids reach the registry only once validated, so every room Hub names is valid.
        if (last_parsed_.is_object()) {
            const auto room = last_parsed_.find("roomId");
            if (room != last_parsed_.end())
                FUZZ_CHECK(room->is_string() && is_valid_room_id(room->get<std::string>()));
        }
        if (const auto violation = views.at(to).apply(last_parsed_)) {
            std::fprintf(stderr, "%s was told %s: %s (%s)\n", to.c_str(), text->c_str(),
                         violation->rule.c_str(), violation->detail.c_str());
            std::abort();
        }
    }

    void close(const ClientId& id, std::uint16_t code) override
    {
        if (trace)
            std::fprintf(stderr, "    close %s %u\n", id.c_str(), code);
        FUZZ_CHECK(connected.contains(id));
        FUZZ_CHECK(code == close_code::policy_violation);
        closing.insert(id);
    }

    // Resume is off in this fuzzer: neither may happen.
    void abort(const ClientId&, std::uint16_t, std::string_view) override { FUZZ_CHECK(false); }
    void rebind(const ClientId&, const ClientId&) override { FUZZ_CHECK(false); }

    std::set<ClientId> connected;
    std::set<ClientId> closing; // asked to close, not yet disconnected
    std::map<ClientId, test::ClientView> views;
    std::size_t sent = 0;

private:
    Text last_text_;
    json last_parsed_;
};

// Room ids as JSON literals: some name the same room two ways, some are invalid.
const std::array<std::string_view, 16> room_literals{
    R"("r0")",
    R"("r1")",
    R"("r2")",
    R"("r\u0030")", // r0 again
    "\"\xC3\xA9t\xC3\xA9\"",
    R"("\u00e9t\u00E9")", // the same room, escaped
    "\"\xF0\x9F\x8E\x89\"",
    R"("\ud83c\udf89")", // the same room, as a surrogate pair
    R"("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx")",  // 64: the longest
    R"("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx")", // 65: too long
    R"("")",
    R"("a\u0001")",
    R"("a\u007f")",
    R"("r0 ")",
    "null",
    "7",
};

const std::array<std::string_view, 10> name_literals{
    R"("alice")",
    R"("bob")",
    R"("")",
    "null",
    R"("\u00e9")",
    R"("a\"b\\c")",
    R"("nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn")",  // 64
    R"("nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn")", // 65: too long
    R"("\n")",
    "[]",
};

const std::array<std::string_view, 8> type_literals{
    R"("offer")",
    R"("answer")",
    R"("ice-candidate")",
    R"("hangup")",
    R"("of\u0066er")",
    R"("Offer")",
    R"("")",
    "1",
};

const std::array<std::string_view, 10> data_literals{
    "null",
    R"({"type":"offer","sdp":"v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n"})",
    R"({"candidate":"candidate:1 1 udp 1 10.0.0.1 9 typ host","sdpMid":"0","sdpMLineIndex":0})",
    R"([1,2.5e10,-0,true,false,null,"\u0000",{"":{}}])",
    "1e400",
    "[-1E+999,{\"n\":123456789012345678901234567890}]",
    R"("\ud83c\udf89 \u00e9")",
    "{}",
    "[]",
    "\"\xE2\x82\xAC\"",
};

// One message under construction: members in order, written out as JSON text. Every call consumes
// input in a fixed order (arguments first, then the call), so seeds can be written by hand.
class MessageBuilder
{
public:
    explicit MessageBuilder(FuzzedDataProvider& input) : input_(input) {}

    // Sometimes escapes the key's first character: it must still name the same field.
    void add(std::string_view name, std::string value_literal)
    {
        static constexpr std::string_view hex = "0123456789abcdef";
        std::string key = "\"" + std::string(name) + "\"";
        if (input_.ConsumeIntegralInRange<int>(0, 7) == 0) {
            const auto c = static_cast<unsigned char>(name.front());
            key.replace(1, 1, std::string("\\u00") + hex[c >> 4] + hex[c & 15]);
        }
        members_.emplace_back(std::move(key), std::move(value_literal));
    }

    std::string build()
    {
        // Shuffle and sometimes decorate: order and extra members must not matter.
        for (std::size_t i = members_.size(); i > 1; --i)
            std::swap(members_[i - 1],
                      members_[input_.ConsumeIntegralInRange<std::size_t>(0, i - 1)]);
        std::string out = "{";
        if (input_.ConsumeBool())
            out += R"("extra":[1,{"action":"leave"}],)";
        for (std::size_t i = 0; i < members_.size(); ++i) {
            if (i > 0)
                out += ",";
            out += members_[i].first + ":" + members_[i].second;
        }
        out += "}";
        return out;
    }

private:
    FuzzedDataProvider& input_;
    std::vector<std::pair<std::string, std::string>> members_;
};

template <std::size_t N>
std::string pick(FuzzedDataProvider& input, const std::array<std::string_view, N>& literals)
{
    return std::string(literals[input.ConsumeIntegralInRange<std::size_t>(0, N - 1)]);
}

class Harness
{
public:
    explicit Harness(FuzzedDataProvider& input) : input_(input)
    {
        HubLimits limits;
        limits.max_room_size = max_room_size;
        if (input_.ConsumeBool()) {
            // Tight enough that floods hit rate-limited and then the 1008 close.
            limits.rate.messages_per_second = 2;
            limits.rate.bytes_per_second = 400;
            limits.rate.burst_seconds = 2;
            limits.max_message_bytes = 512;
        }
        hub_ = std::make_unique<Hub>(recorder_, ids_, limits, [now = now_] { return *now; });
    }

    void run()
    {
        for (std::size_t step = 0; step < max_steps && input_.remaining_bytes() > 0; ++step) {
            do_step();
            check();
        }
    }

private:
    void do_step()
    {
        switch (input_.ConsumeIntegralInRange<int>(0, 11)) {
        case 0:
        case 1:
            return connect();
        case 2:
            return disconnect();
        case 3:
        case 4: {
            const ClientId from = pick_client();
            return deliver(from, join_text());
        }
        case 5: {
            const ClientId from = pick_client();
            return deliver(from, leave_text());
        }
        case 6:
        case 7: {
            const ClientId from = pick_client();
            return deliver(from, signal_text());
        }
        case 8: {
            const ClientId from = pick_client();
            return deliver(from, input_.ConsumeRandomLengthString(512));
        }
        case 9:
            return flood();
        case 10: {
            const int ms = input_.ConsumeIntegralInRange<int>(0, 5000);
            if (trace)
                std::fprintf(stderr, "clock +%d ms\n", ms);
            *now_ += std::chrono::milliseconds(ms);
            return;
        }
        default:
            return deliver_all();
        }
    }

    void connect()
    {
        if (recorder_.connected.size() >= max_clients)
            return;
        const ClientId id = hub_->connect();
        if (trace)
            std::fprintf(stderr, "connect %s\n", id.c_str());
        FUZZ_CHECK(recorder_.connected.insert(id).second);
        recorder_.views.insert_or_assign(id, test::ClientView(id));
        gone_.erase(id);
    }

    void disconnect()
    {
        // Sometimes an id that is already gone or never was: that must be a no-op.
        const ClientId id = input_.ConsumeBool() ? pick_client() : pick_any_id();
        const std::size_t sent = recorder_.sent;
        const bool was_connected = recorder_.connected.erase(id) == 1;
        if (trace)
            std::fprintf(stderr, "disconnect %s\n", id.c_str());
        hub_->disconnect(id);
        recorder_.closing.erase(id);
        recorder_.views.erase(id);
        if (was_connected)
            gone_.insert(id);
        else
            FUZZ_CHECK(recorder_.sent == sent);
    }

    void deliver(const ClientId& from, const std::string& text)
    {
        const std::size_t sent = recorder_.sent;
        const bool silent = !recorder_.connected.contains(from) || recorder_.closing.contains(from);
        if (trace)
            std::fprintf(stderr, "%s says %s\n", from.c_str(), text.c_str());
        hub_->on_text(from, text);
        // Nothing from a departed or closing client may reach anyone.
        if (silent)
            FUZZ_CHECK(recorder_.sent == sent);
    }

    // Every client sends the same kind of message in turn, as a whole room reacting to one event.
    void deliver_all()
    {
        const int kind = input_.ConsumeIntegralInRange<int>(0, 2);
        for (const ClientId& id :
             std::vector<ClientId>(recorder_.connected.begin(), recorder_.connected.end()))
            deliver(id, kind == 0 ? join_text() : kind == 1 ? signal_text() : leave_text());
    }

    void flood()
    {
        const ClientId from = pick_client();
        const std::string text = signal_text();
        const int count = input_.ConsumeIntegralInRange<int>(1, 64);
        for (int i = 0; i < count; ++i)
            deliver(from, text);
    }

    std::string join_text()
    {
        MessageBuilder message(input_);
        message.add("action", R"("join")");
        message.add("roomId", pick(input_, room_literals));
        switch (input_.ConsumeIntegralInRange<int>(0, 3)) {
        case 0:
            break;
        case 1:
            message.add("name", "\"" + input_.ConsumeRandomLengthString(80) + "\"");
            break;
        default:
            message.add("name", pick(input_, name_literals));
        }
        return message.build();
    }

    std::string leave_text()
    {
        MessageBuilder message(input_);
        message.add("action", R"("leave")");
        message.add("roomId", pick(input_, room_literals));
        return message.build();
    }

    std::string signal_text()
    {
        MessageBuilder message(input_);
        message.add("action", R"("signal")");
        message.add("roomId", pick(input_, room_literals));
        message.add("type", pick(input_, type_literals));
        switch (input_.ConsumeIntegralInRange<int>(0, 5)) {
        case 0:
            break;
        case 1:
            message.add("to", "null");
            break;
        default:
            message.add("to", "\"" + pick_any_id() + "\"");
        }
        switch (input_.ConsumeIntegralInRange<int>(0, 4)) {
        case 0:
            break;
        case 1:
            message.add("data", input_.ConsumeRandomLengthString(256));
            break;
        case 2: {
            const auto depth = input_.ConsumeIntegralInRange<std::size_t>(1, 200);
            message.add("data", std::string(depth, '[') + std::string(depth, ']'));
            break;
        }
        default:
            message.add("data", pick(input_, data_literals));
        }
        return message.build();
    }

    // A connected client if there is one, else some id.
    ClientId pick_client()
    {
        if (recorder_.connected.empty())
            return pick_any_id();
        auto it = recorder_.connected.begin();
        std::advance(it,
                     input_.ConsumeIntegralInRange<std::size_t>(0, recorder_.connected.size() - 1));
        return *it;
    }

    // Any id Hub might hand out (connected, departed or not yet used), or one it never would.
    ClientId pick_any_id()
    {
        const auto n = input_.ConsumeIntegralInRange<std::size_t>(0, id_cycle);
        return n == id_cycle ? std::string("nobody") : numbered_id(n);
    }

    // The invariants, checked after every step.
    void check() const
    {
        const RoomRegistry& rooms = hub_->rooms();
        FUZZ_CHECK(hub_->client_count() == recorder_.connected.size());

        std::size_t in_rooms = 0;
        for (const ClientId& id : recorder_.connected) {
            const auto room = hub_->room_of(id);
            const test::ClientView& view = recorder_.views.at(id);
            FUZZ_CHECK(view.room() == room);
            if (!room) {
                FUZZ_CHECK(view.members().empty());
                continue;
            }
            ++in_rooms;
            FUZZ_CHECK(rooms.contains(*room, id));
            // The client's picture of its room is the registry's, order and names included.
            const auto members = rooms.members(*room);
            FUZZ_CHECK(members.size() == view.members().size());
            for (std::size_t i = 0; i < members.size(); ++i) {
                FUZZ_CHECK(members[i].client_id == view.members()[i]);
                if (members[i].client_id != id)
                    FUZZ_CHECK(members[i].name == view.name_of(members[i].client_id));
            }
        }
        for (const ClientId& id : gone_)
            FUZZ_CHECK(!hub_->room_of(id));

        for (const auto& [room, members] : rooms.all()) {
            FUZZ_CHECK(is_valid_room_id(room));
            FUZZ_CHECK(!members.empty() && members.size() <= max_room_size);
            std::set<ClientId> seen;
            for (const Member& member : members) {
                FUZZ_CHECK(seen.insert(member.client_id).second);
                FUZZ_CHECK(recorder_.connected.contains(member.client_id));
                FUZZ_CHECK(hub_->room_of(member.client_id) == room);
                if (member.name)
                    FUZZ_CHECK(!member.name->empty() && is_valid_name(*member.name));
            }
        }
        FUZZ_CHECK(rooms.member_count() == in_rooms);
    }

    FuzzedDataProvider& input_;
    Recorder recorder_;
    CyclingIds ids_;
    std::shared_ptr<TimePoint> now_ = std::make_shared<TimePoint>();
    std::unique_ptr<Hub> hub_;
    std::set<ClientId> gone_; // departed and not handed out again
};

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***)
{
    // Hub logs every join and leave at info; formatting them would cost more than the fuzzing.
    spdlog::set_level(spdlog::level::off);
    const char* trace_env = std::getenv("SIGNALD_FUZZ_TRACE");
    trace = trace_env != nullptr && std::string_view(trace_env) == "1";
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size)
{
    FuzzedDataProvider input(bytes, size);
    Harness(input).run();
    return 0;
}
