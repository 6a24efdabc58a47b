// fuzz_hub: drives one Hub through a sequence of steps decoded from the input (connect, disconnect,
// join, leave, signal, raw text, floods, clock moves) and after every step checks that the room
// registry, Hub's per-client state and what each client was told all agree. What each client was
// told is kept and checked by the shared oracle (tests/support/client_view.hpp). Messages are
// mostly built from templates filled from the input, so runs get past parse errors into room
// states.
//
// Part of the inputs turn resume on (docs/protocol.md 8.1) with a grace of 1-3 s and a buffer cap
// small enough to be hit, and add its steps: lost connections (suspension), resumes with tokens
// seen, dead or made up and with right and wrong received counts, from fresh connections or ones
// that spoke already (and takeovers of open connections), acknowledgements as a pong would make,
// and ticks. The Recorder follows rebind (the new connection serves the old client, whose view
// goes on) and abort, and checks exactly-once delivery across resumes: it keeps, per member, the
// texts numbered after its token, rewinds the client to the count it claims, and requires the
// replay to continue exactly at message N+1. Where the outcome is determined (no rate limit), a
// resume must succeed exactly when the token is live, N is at most what was handed over, N+1 was
// not acknowledged away and the messages after N fit the cap.
//
// Another part turns signed room tokens on (docs/protocol.md 7.3, 7.4) with a JoinCheck that reads
// the join's token as a script (moderator or member, which sub, or refused): joins then carry
// tokens, and kicks and locks join the steps. Every client's picture of its room's lock must be
// the registry's, and a kick that left its target in the room must have been refused.

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
    // Distinct secrets, so a dead token of a reused id is not its new one.
    ResumeSecret secret() override
    {
        ResumeSecret secret{};
        ++secrets_;
        for (std::size_t i = 0; i < sizeof secrets_; ++i)
            secret[i] = static_cast<std::uint8_t>(secrets_ >> (8 * i));
        return secret;
    }

private:
    std::size_t next_ = 0;
    std::uint64_t secrets_ = 0;
};

// What resume needs to know about one member's client: its live token as the client knows it,
// its view right after the joined or resumed that gave it, and every text it received since.
struct Stream
{
    std::string token; // empty: none live as far as the client knows
    test::ClientView at_token = test::ClientView();
    std::vector<Text> since;
    std::uint64_t numbered_from = 0; // texts handed to the connection up to that joined/resumed
    std::uint64_t acked = 0;         // numbered messages acknowledged
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
        ++delivered[to];
        // A broadcast hands every member the same Text: parse it once. Replies carry `data`
        // verbatim, so an oversized number in it is allowed, and read as 0.
        if (text != last_text_) {
            last_text_ = text;
            last_parsed_ = fuzz::parse_json(*text);
            FUZZ_CHECK(!last_parsed_.is_discarded());
        }
        // Room ids reach the registry only once validated, so every room Hub names is valid.
        std::string action;
        if (last_parsed_.is_object()) {
            const auto room = last_parsed_.find("roomId");
            if (room != last_parsed_.end())
                FUZZ_CHECK(room->is_string() && is_valid_room_id(room->get<std::string>()));
            const auto found = last_parsed_.find("action");
            if (found != last_parsed_.end() && found->is_string())
                action = found->get<std::string>();
        }
        last_action[to] = action;
        // After a resume: resumed, then exactly the messages after the client's count, in order.
        if (replay && replay->to == to) {
            if (!replay->resumed) {
                FUZZ_CHECK(action == "resumed");
                replay->resumed = true;
            } else if (replay->next < replay->expected.size()) {
                FUZZ_CHECK(*text == *replay->expected[replay->next]);
                ++replay->next;
            }
        }
        test::ClientView& view = views.at(to);
        if (const auto violation = view.apply(last_parsed_)) {
            std::fprintf(stderr, "%s was told %s: %s (%s)\n", to.c_str(), text->c_str(),
                         violation->rule.c_str(), violation->detail.c_str());
            std::abort();
        }
        // The numbering the client counts for its next resume.
        Stream& stream = streams[to];
        if (action == "joined" || action == "resumed") {
            const auto token = last_parsed_.find("resumeToken");
            FUZZ_CHECK(resume_on == (token != last_parsed_.end()));
            stream = Stream{
                resume_on ? token->get<std::string>() : std::string{}, view, {}, delivered[to], 0};
            if (resume_on) {
                FUZZ_CHECK(std::find(tokens_seen.begin(), tokens_seen.end(), stream.token) ==
                           tokens_seen.end());
                if (tokens_seen.size() == 16)
                    tokens_seen.erase(tokens_seen.begin());
                tokens_seen.push_back(stream.token);
            }
        } else if (action == "left") {
            stream = Stream{};
        } else if (!stream.token.empty()) {
            stream.since.push_back(text);
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

    // A takeover: the member's open connection ends at once; Hub suspends the member and then
    // hands it the connection that resumed.
    // A member being closed for flooding has no live token: it is never taken over.
    bool abort(const ClientId& id, std::uint16_t code, std::string_view reason) override
    {
        if (trace)
            std::fprintf(stderr, "    abort %s %u\n", id.c_str(), code);
        FUZZ_CHECK(resume_on && resuming.has_value());
        FUZZ_CHECK(code == close_code::resumed_elsewhere && reason == "resumed elsewhere");
        FUZZ_CHECK(!closing.contains(id));
        FUZZ_CHECK(connected.erase(id) == 1);
        suspended.insert(id);
        return true;
    }

    // The connection known as from (which sent only the resume) serves client to from now on.
    void rebind(const ClientId& from, const ClientId& to) override
    {
        if (trace)
            std::fprintf(stderr, "    rebind %s -> %s\n", from.c_str(), to.c_str());
        FUZZ_CHECK(resume_on && resuming.has_value() && resuming->from == from);
        FUZZ_CHECK(connected.contains(from) && !connected.contains(to) && suspended.contains(to));
        FUZZ_CHECK(delivered[from] == 0 && !replay);
        const Stream& stream = streams.at(to);
        // N: at most what the old connection was handed, and not below what was acknowledged
        // (message N+1 would be gone).
        const std::uint64_t n = resuming->received;
        FUZZ_CHECK(n <= stream.since.size() && n >= stream.acked);
        // The client read the first N of them; the rest must come again, then what was queued.
        test::ClientView view = stream.at_token;
        for (std::size_t i = 0; i < n; ++i)
            FUZZ_CHECK(!view.apply(fuzz::parse_json(*stream.since[i])));
        views.insert_or_assign(to, std::move(view));
        replay =
            Replay{to, {stream.since.begin() + static_cast<std::ptrdiff_t>(n), stream.since.end()}};
        connected.erase(from);
        views.erase(from);
        streams.erase(from);
        delivered[to] = delivered[from];
        delivered.erase(from);
        suspended.erase(to);
        connected.insert(to);
    }

    struct Resuming
    {
        ClientId from;
        std::uint64_t received;
    };
    struct Replay
    {
        ClientId to;
        std::vector<Text> expected;
        std::size_t next = 0;
        bool resumed = false;
    };

    bool resume_on = false;
    std::set<ClientId> connected;
    std::set<ClientId> closing;   // asked to close, not yet disconnected
    std::set<ClientId> suspended; // members without a connection: their views wait
    std::map<ClientId, test::ClientView> views;
    std::map<ClientId, Stream> streams;
    std::map<ClientId, std::uint64_t> delivered; // texts handed to each connection
    std::vector<std::string> tokens_seen;        // the latest, live or dead
    std::optional<Resuming> resuming;            // set by the harness around a resume
    std::optional<Replay> replay;                // from rebind to the end of that resume
    std::size_t sent = 0;
    std::map<ClientId, std::string> last_action; // of the latest message to each connection

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
        // Bit 0: tight rate limits; bit 1: resume on; bit 2: room tokens and moderation. (One
        // byte, as ConsumeBool read it before resume, so the older seeds still mean what they
        // did, but for moderation, which leaves a join without a token as it was.)
        const int mode = input_.ConsumeIntegralInRange<int>(0, 7);
        rate_limited_ = (mode & 1) != 0;
        auth_ = (mode & 4) != 0;
        if (auth_)
            limits.kick_ban = std::chrono::seconds(input_.PickValueInArray({0, 1, 5}));
        if ((mode & 2) != 0) {
            // A short grace, and a cap that a few messages pass.
            limits.resume_grace = std::chrono::seconds(input_.ConsumeIntegralInRange<int>(1, 3));
            limits.resume_buffer_bytes = input_.PickValueInArray({256U, 1024U, 4096U});
            recorder_.resume_on = true;
            grace_ = limits.resume_grace;
            cap_ = limits.resume_buffer_bytes;
        }
        if (rate_limited_) {
            // Tight enough that floods hit rate-limited and then the 1008 close.
            limits.rate.messages_per_second = 2;
            limits.rate.bytes_per_second = 400;
            limits.rate.burst_seconds = 2;
            limits.max_message_bytes = 512;
        }
        limits_ = limits;
        hub_ = std::make_unique<Hub>(
            recorder_, ids_, limits, [now = now_] { return *now; }, IceServersFor{},
            auth_ ? scripted_check() : JoinCheck{});
    }

    void run()
    {
        for (std::size_t step = 0; step < max_steps && input_.remaining_bytes() > 0; ++step) {
            do_step();
            reconcile();
            check();
        }
        check_state_round_trip();
    }

private:
    // A join's token as a script: "mod-X" a moderator with sub X, "member-X" a member with sub X,
    // "bad" refused, any other a member without sub (banned by its token); none, a member of the
    // ban key "none", so that kicking one bans every join without a token.
    static JoinCheck scripted_check()
    {
        return [](const std::optional<std::string>& token,
                  std::string_view) -> std::variant<JoinPass, JoinRefusal> {
            if (token == "bad")
                return JoinRefusal{"token refused (signature): scripted"};
            JoinPass pass;
            const std::string text = token.value_or("none");
            if (text.starts_with("mod-") || text.starts_with("member-")) {
                pass.moderator = text.starts_with("mod-");
                pass.sub = text.substr(text.find('-') + 1);
                pass.ban_key = "sub:" + *pass.sub;
            } else {
                pass.ban_key = "token:" + text;
            }
            return pass;
        };
    }

    // What a leader hands over (Hub::export_state) is whole: a hub that imports it exports the
    // same state again, whatever state the steps left (docs/cluster.md, "A node drains").
    void check_state_round_trip()
    {
        struct Silent final : Transport
        {
            void send(const ClientId&, const Text&) override { FUZZ_CHECK(false); }
            void close(const ClientId&, std::uint16_t) override { FUZZ_CHECK(false); }
            bool abort(const ClientId&, std::uint16_t, std::string_view) override
            {
                FUZZ_CHECK(false);
                return false;
            }
            void rebind(const ClientId&, const ClientId&) override { FUZZ_CHECK(false); }
        } silent;
        CyclingIds ids;
        const std::string state = hub_->export_state();
        Hub copy(silent, ids, limits_, [now = now_] { return *now; });
        FUZZ_CHECK(copy.import_state(state));
        const auto normalized = [](const std::string& text) {
            json parsed = json::parse(text);
            auto& clients = parsed["clients"];
            std::sort(clients.begin(), clients.end(),
                      [](const json& a, const json& b) { return a["id"] < b["id"]; });
            return parsed;
        };
        FUZZ_CHECK(normalized(copy.export_state()) == normalized(state));
        FUZZ_CHECK(copy.client_ids().size() == hub_->client_ids().size());
        FUZZ_CHECK(copy.suspended_count() == hub_->suspended_count());
    }

    void do_step()
    {
        switch (input_.ConsumeIntegralInRange<int>(0, 15)) {
        case 0:
        case 1:
            connect();
            return;
        case 2:
            return disconnect();
        case 3:
        case 4: {
            const ClientId from = pick_client();
            return deliver(from, join_text());
        }
        case 5: {
            const ClientId from = pick_client();
            if (auth_ && input_.ConsumeBool())
                return moderate(from);
            return deliver(from, leave_text());
        }
        case 6: {
            const ClientId from = pick_client();
            return deliver(from, signal_text());
        }
        case 7: {
            const ClientId from = pick_client();
            switch (input_.ConsumeIntegralInRange<int>(0, 3)) {
            case 0:
                return deliver(from, update_text());
            case 1:
                return deliver(from, report_text());
            default:
                return deliver(from, signal_text());
            }
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
        case 11:
            return deliver_all();
        case 12:
        case 13:
            return resume();
        case 14:
            return acknowledge();
        default:
            return tick();
        }
    }

    // Returns the new connection's id, or nothing when there are enough (suspended members keep
    // their ids, and connect() must find a free one in the cycle).
    std::optional<ClientId> connect()
    {
        if (recorder_.connected.size() + recorder_.suspended.size() >= max_clients)
            return std::nullopt;
        const ClientId id = hub_->connect();
        if (trace)
            std::fprintf(stderr, "connect %s\n", id.c_str());
        FUZZ_CHECK(recorder_.connected.insert(id).second);
        FUZZ_CHECK(!recorder_.suspended.contains(id));
        recorder_.views.insert_or_assign(id, test::ClientView(id));
        recorder_.streams.erase(id);
        recorder_.delivered[id] = 0;
        spoke_.erase(id);
        gone_.erase(id);
        return id;
    }

    void disconnect()
    {
        // Sometimes an id that is already gone or never was: that must be a no-op.
        const ClientId id = input_.ConsumeBool() ? pick_client() : pick_any_id();
        const ConnectionEnd end = recorder_.resume_on && input_.ConsumeBool()
                                      ? ConnectionEnd::lost
                                      : ConnectionEnd::closed;
        const std::size_t sent = recorder_.sent;
        if (trace)
            std::fprintf(stderr, "disconnect %s%s\n", id.c_str(),
                         end == ConnectionEnd::lost ? " (lost)" : "");
        if (recorder_.suspended.contains(id)) {
            // A suspended member has no connection to end.
            hub_->disconnect(id, end);
            FUZZ_CHECK(recorder_.sent == sent && hub_->is_suspended(id));
            return;
        }
        // Suspended exactly when resume is on, the connection was lost, the client is in a room
        // and the server was not closing it (its held messages fit the cap while connected).
        const bool suspends = recorder_.resume_on && end == ConnectionEnd::lost &&
                              recorder_.connected.contains(id) && hub_->room_of(id) &&
                              !recorder_.closing.contains(id);
        const bool was_connected = recorder_.connected.erase(id) == 1;
        const std::size_t suspensions = hub_->stats().suspensions;
        hub_->disconnect(id, end);
        recorder_.closing.erase(id);
        // (It may be removed at once after all: what its suspension tells the room can take
        // another suspended member past the cap, whose peer-left then takes this one past it.)
        FUZZ_CHECK(hub_->stats().suspensions - suspensions == (suspends ? 1U : 0U));
        if (hub_->is_suspended(id)) {
            recorder_.suspended.insert(id);
            suspended_at_[id] = *now_;
            return;
        }
        forget(id);
        if (was_connected)
            gone_.insert(id);
        else
            FUZZ_CHECK(recorder_.sent == sent);
    }

    void forget(const ClientId& id)
    {
        recorder_.views.erase(id);
        recorder_.streams.erase(id);
        recorder_.delivered.erase(id);
        suspended_at_.erase(id);
    }

    // A resume: mostly from a fresh connection, sometimes from one that spoke already; with the
    // live token of some member (suspended or connected: a takeover), a token seen before, or a
    // made-up one; with the client's own count, one too high, or a malformed one.
    void resume()
    {
        std::optional<ClientId> from;
        if (input_.ConsumeIntegralInRange<int>(0, 3) != 0)
            from = connect();
        if (!from)
            from = pick_client();

        std::vector<ClientId> holders;
        for (const auto& [id, stream] : recorder_.streams)
            if (!stream.token.empty() &&
                (recorder_.connected.contains(id) || recorder_.suspended.contains(id)))
                holders.push_back(id);
        std::string token;
        std::optional<ClientId> holder;
        switch (input_.ConsumeIntegralInRange<int>(0, 5)) {
        case 0:
            token = input_.ConsumeRandomLengthString(40);
            break;
        case 1:
            if (!recorder_.tokens_seen.empty())
                token = recorder_.tokens_seen[input_.ConsumeIntegralInRange<std::size_t>(
                    0, recorder_.tokens_seen.size() - 1)];
            break;
        default:
            if (!holders.empty()) {
                holder = holders[input_.ConsumeIntegralInRange<std::size_t>(0, holders.size() - 1)];
                token = recorder_.streams.at(*holder).token;
            }
        }
        // Whose live token it is, whichever way it was picked.
        for (const ClientId& id : holders)
            if (recorder_.streams.at(id).token == token)
                holder = id;
        if (holder && recorder_.streams.at(*holder).token != token)
            holder.reset();

        const std::size_t since = holder ? recorder_.streams.at(*holder).since.size() : 0;
        std::uint64_t received = 0;
        std::string received_literal;
        switch (input_.ConsumeIntegralInRange<int>(0, 5)) {
        case 0:
        case 1:
        case 2:
            received = input_.ConsumeIntegralInRange<std::uint64_t>(0, since);
            break;
        case 3:
            received = since + input_.ConsumeIntegralInRange<std::uint64_t>(1, 3);
            break;
        case 4:
            received = input_.ConsumeIntegral<std::uint64_t>();
            break;
        default: {
            // Not counts, then other spellings of counts (docs/protocol.md 5.4): 1e2 is 100, and
            // a number past 2^64 - 1 reads as 2^64 - 1.
            static constexpr std::array<std::string_view, 6> literals{
                "-1", "1.5", R"("3")", "null", "18446744073709551616", "1e2"};
            received_literal = pick(input_, literals);
            if (received_literal == "1e2")
                received = 100;
            else if (received_literal == "18446744073709551616")
                received = UINT64_MAX;
        }
        }
        const bool well_formed = received_literal.empty() || received_literal == "1e2" ||
                                 received_literal == "18446744073709551616";
        if (received_literal.empty())
            received_literal = std::to_string(received);

        MessageBuilder message(input_);
        message.add("action", R"("resume")");
        message.add("token", "\"" + token + "\"");
        message.add("received", received_literal);
        const std::string text = message.build();

        // Whether it must succeed, where that is determined: a fresh connection that has not
        // spoken, the live token of a member, a count within what was handed over and not below
        // what was acknowledged, and the messages after it within the cap. (A rate limit may
        // refuse it first, so that mode checks only what does happen.)
        const bool fresh = recorder_.connected.contains(*from) && !spoke_.contains(*from) &&
                           recorder_.delivered[*from] == 0;
        // A member the server is closing for a policy is on its way out: its token is dead.
        const bool holder_closing = holder && recorder_.closing.contains(*holder);
        bool must_succeed = false;
        if (holder && fresh && well_formed && *holder != *from && !holder_closing) {
            const Stream& stream = recorder_.streams.at(*holder);
            std::size_t bytes = 0;
            for (std::size_t i = received; i < stream.since.size(); ++i)
                bytes += stream.since[i]->size();
            must_succeed =
                received <= stream.since.size() && received >= stream.acked && bytes <= cap_;
        }

        const std::size_t resumes = hub_->stats().resumes;
        recorder_.resuming = Recorder::Resuming{*from, received};
        deliver(*from, text);
        recorder_.resuming.reset();
        const bool resumed = hub_->stats().resumes != resumes;
        if (resumed) {
            // The replay continued the stream exactly at N+1: all of what followed N came again.
            FUZZ_CHECK(recorder_.replay && recorder_.replay->resumed &&
                       recorder_.replay->next == recorder_.replay->expected.size());
            FUZZ_CHECK(holder && recorder_.replay->to == *holder);
            spoke_.insert(*holder);
        } else {
            FUZZ_CHECK(!recorder_.replay);
        }
        recorder_.replay.reset();
        FUZZ_CHECK(!(resumed && holder_closing));
        if (!rate_limited_)
            FUZZ_CHECK(resumed == must_succeed);
        // A live token whose resume failed dies with its member (a rate limit may refuse the
        // message before it is read; nothing is read from a closing connection).
        if (holder && !resumed && recorder_.resume_on && !rate_limited_ && well_formed &&
            !holder_closing && recorder_.connected.contains(*from))
            FUZZ_CHECK(!hub_->room_of(*holder));
    }

    // A pong, as the server would compute it: the client has the first k texts its connection
    // was handed. Sometimes for a suspended or unknown id: a no-op.
    void acknowledge()
    {
        const ClientId id = input_.ConsumeBool() ? pick_client() : pick_any_id();
        const std::uint64_t handed =
            recorder_.delivered.contains(id) ? recorder_.delivered.at(id) : 0;
        const std::uint64_t k = input_.ConsumeIntegralInRange<std::uint64_t>(0, handed);
        if (trace)
            std::fprintf(stderr, "acknowledge %s %llu\n", id.c_str(),
                         static_cast<unsigned long long>(k));
        const std::size_t sent = recorder_.sent;
        hub_->acknowledge(id, k);
        FUZZ_CHECK(recorder_.sent == sent);
        if (!recorder_.connected.contains(id))
            return;
        const auto stream = recorder_.streams.find(id);
        if (stream != recorder_.streams.end() && !stream->second.token.empty() &&
            k > stream->second.numbered_from)
            stream->second.acked = std::max(stream->second.acked, k - stream->second.numbered_from);
    }

    // Hub::tick, sometimes with the clock moved just past some suspended member's grace: exactly
    // the members whose grace is over go.
    void tick()
    {
        if (input_.ConsumeBool() && !suspended_at_.empty()) {
            auto it = suspended_at_.begin();
            std::advance(it,
                         input_.ConsumeIntegralInRange<std::size_t>(0, suspended_at_.size() - 1));
            *now_ = std::max(*now_, it->second + grace_);
        }
        if (trace)
            std::fprintf(stderr, "tick\n");
        std::vector<std::pair<ClientId, bool>> due;
        for (const auto& [id, since] : suspended_at_)
            if (recorder_.suspended.contains(id))
                due.emplace_back(id, *now_ >= since + grace_);
        hub_->tick();
        // An expiry tells the room peer-left, which may push another suspended member past its
        // cap: that one goes too, grace or not (and only then).
        const bool any_over =
            std::any_of(due.begin(), due.end(), [](const auto& entry) { return entry.second; });
        for (const auto& [id, over] : due) {
            if (over)
                FUZZ_CHECK(!hub_->is_suspended(id));
            else
                FUZZ_CHECK(hub_->is_suspended(id) || any_over);
        }
    }

    // Suspended members Hub let go meanwhile (grace over, cap passed, a failed resume): their
    // views go with them.
    void reconcile()
    {
        for (const ClientId& id :
             std::vector<ClientId>(recorder_.suspended.begin(), recorder_.suspended.end())) {
            if (hub_->is_suspended(id))
                continue;
            FUZZ_CHECK(!hub_->room_of(id));
            recorder_.suspended.erase(id);
            forget(id);
            gone_.insert(id);
        }
        for (auto it = suspended_at_.begin(); it != suspended_at_.end();)
            it = recorder_.suspended.contains(it->first) ? std::next(it) : suspended_at_.erase(it);
    }

    void deliver(const ClientId& from, const std::string& text)
    {
        const std::size_t sent = recorder_.sent;
        const bool silent = !recorder_.connected.contains(from) || recorder_.closing.contains(from);
        if (trace)
            std::fprintf(stderr, "%s says %s\n", from.c_str(), text.c_str());
        spoke_.insert(from);
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
        if (auth_) {
            static constexpr std::array<std::string_view, 8> tokens{
                "",           R"("mod-a")", R"("mod-b")", R"("member-c")", R"("member-d")",
                R"("plain")", R"("bad")",   "7"};
            if (const std::string token = pick(input_, tokens); !token.empty())
                message.add("token", token);
        }
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

    // A kick or a lock, mostly well formed, in from's room or another.
    void moderate(const ClientId& from)
    {
        MessageBuilder message(input_);
        const bool kick = input_.ConsumeBool();
        message.add("action", kick ? R"("kick")" : R"("lock")");
        const std::string room_literal = pick(input_, room_literals);
        message.add("roomId", room_literal);
        std::optional<ClientId> target;
        if (kick) {
            if (input_.ConsumeIntegralInRange<int>(0, 7) == 0) {
                message.add("clientId", "7");
            } else {
                target = pick_any_id();
                message.add("clientId", "\"" + *target + "\"");
            }
        } else {
            static constexpr std::array<std::string_view, 4> locked{"true", "false", "true",
                                                                    R"("yes")"};
            message.add("locked", pick(input_, locked));
        }
        const auto room = hub_->room_of(from);
        const bool target_was_there =
            target && *target != from && room && hub_->rooms().contains(*room, *target);
        const std::size_t sent = recorder_.sent;
        deliver(from, message.build());
        // A kick that left another member of the sender's room in place was refused: the
        // sender heard an error, or nothing at all (flooding, or closing).
        if (target_was_there && hub_->room_of(*target) == room && recorder_.sent != sent)
            FUZZ_CHECK(recorder_.last_action.at(from) == "error");
        if (target_was_there && hub_->room_of(*target) != room &&
            recorder_.connected.contains(*target))
            FUZZ_CHECK(recorder_.views.at(*target).kicked());
    }

    // An update (docs/protocol.md 5.7): mostly objects, some over the size limit, some not
    // objects at all.
    std::string update_text()
    {
        static constexpr std::array<std::string_view, 7> states{"{}",
                                                                R"({"muted":true,"video":false})",
                                                                R"({"hand":true,"name":"Ann"})",
                                                                R"({"n":1e400})",
                                                                "null",
                                                                "[]",
                                                                R"("x")"};
        MessageBuilder message(input_);
        message.add("action", R"("update")");
        message.add("roomId", pick(input_, room_literals));
        switch (input_.ConsumeIntegralInRange<int>(0, 3)) {
        case 0: {
            // A state of 1000 to 1030 bytes in all: either side of the limit.
            const auto bytes = input_.ConsumeIntegralInRange<std::size_t>(1000, 1030);
            message.add("state", R"({"s":")" + std::string(bytes - 8, 'x') + R"("})");
            break;
        }
        case 1:
            message.add("state", R"({"s":")" + input_.ConsumeRandomLengthString(64) + R"("})");
            break;
        default:
            message.add("state", pick(input_, states));
        }
        return message.build();
    }

    // A report (docs/protocol.md 5.8) on some peer, with known and unknown values: it changes
    // no room and sends nothing but an error, while the reports the hub keeps per member must
    // go with their peers (a member's copy, a hand-over and the views stay as they were).
    std::string report_text()
    {
        static constexpr std::array<std::string_view, 4> ice{R"("connected")", R"("failed")",
                                                             R"("checking")", "1"};
        static constexpr std::array<std::string_view, 6> types{
            R"("host")", R"("srflx")", R"("prflx")", R"("relay")", R"("turn")", "null"};
        static constexpr std::array<std::string_view, 5> protocols{R"("udp")", R"("tcp")",
                                                                   R"("tls")", R"("quic")", "[]"};
        MessageBuilder message(input_);
        message.add("action", R"("report")");
        message.add("roomId", pick(input_, room_literals));
        message.add("peer", "\"" + pick_any_id() + "\"");
        message.add("ice", pick(input_, ice));
        message.add("local", pick(input_, types));
        message.add("remote", pick(input_, types));
        message.add("protocol", pick(input_, protocols));
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
        FUZZ_CHECK(hub_->suspended_count() == recorder_.suspended.size());

        std::size_t in_rooms = 0;
        for (const ClientId& id : recorder_.suspended) {
            // It keeps its place; its view waits for the replay.
            const auto room = hub_->room_of(id);
            FUZZ_CHECK(hub_->is_suspended(id) && room && recorder_.views.at(id).room() == room);
            FUZZ_CHECK(rooms.contains(*room, id));
            ++in_rooms;
        }
        for (const ClientId& id : recorder_.connected) {
            const auto room = hub_->room_of(id);
            const test::ClientView& view = recorder_.views.at(id);
            FUZZ_CHECK(view.room() == room);
            if (!room) {
                FUZZ_CHECK(view.members().empty());
                continue;
            }
            ++in_rooms;
            FUZZ_CHECK(view.locked() == rooms.locked(*room));
            FUZZ_CHECK(rooms.contains(*room, id));
            // The client's picture of its room is the registry's, order and names included.
            const auto members = rooms.members(*room);
            FUZZ_CHECK(members.size() == view.members().size());
            for (std::size_t i = 0; i < members.size(); ++i) {
                FUZZ_CHECK(members[i].client_id == view.members()[i]);
                if (members[i].client_id != id) {
                    FUZZ_CHECK(members[i].name() == view.name_of(members[i].client_id));
                    // Relayed byte for byte: the same JSON as the registry keeps.
                    const auto& state = members[i].state();
                    FUZZ_CHECK((state ? std::optional(fuzz::parse_json(*state).dump())
                                      : std::nullopt) == view.state_of(members[i].client_id));
                    if (state)
                        FUZZ_CHECK(state->size() <= max_state_bytes && state->front() == '{');
                    FUZZ_CHECK(members[i].suspended == view.is_suspended(members[i].client_id));
                }
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
                FUZZ_CHECK(member.suspended ? recorder_.suspended.contains(member.client_id)
                                            : recorder_.connected.contains(member.client_id));
                FUZZ_CHECK(hub_->room_of(member.client_id) == room);
                if (member.name())
                    FUZZ_CHECK(!member.name()->empty() && is_valid_name(*member.name()));
            }
        }
        FUZZ_CHECK(rooms.member_count() == in_rooms);
        for (const std::string& room : rooms.locked_rooms())
            FUZZ_CHECK(!rooms.members(room).empty()); // a lock dies with its room
        if (!auth_)
            FUZZ_CHECK(rooms.locked_rooms().empty() && hub_->ban_count() == 0);
    }

    FuzzedDataProvider& input_;
    Recorder recorder_;
    CyclingIds ids_;
    std::shared_ptr<TimePoint> now_ = std::make_shared<TimePoint>();
    HubLimits limits_;
    std::unique_ptr<Hub> hub_;
    std::set<ClientId> gone_;  // departed and not handed out again
    std::set<ClientId> spoke_; // connections that sent something (a resume must be first)
    std::map<ClientId, TimePoint> suspended_at_;
    bool rate_limited_ = false;
    bool auth_ = false;
    std::chrono::seconds grace_{0};
    std::size_t cap_ = 0;
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
