#pragma once
// HubHarness: the hub unit tests' one set-up. A Hub wired to a FakeTransport, FixedIds and a
// ManualClock, with logging off, and a ClientView per client connected through it: every message
// Hub sends is applied to its receiver's view the moment it is sent, and a broken protocol rule
// (client_view.hpp) fails the test, whatever the test itself looks at.

#include "signald/core/hub.hpp"

#include "client_view.hpp"
#include "fake_transport.hpp"
#include "fixed_ids.hpp"
#include "json_reference.hpp" // from fuzz/: the JSON verdict the fuzzers use
#include "manual_clock.hpp"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstddef>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace signald::test {

// Silences Hub's logging while it lives, restoring the level afterwards.
class QuietLogs
{
public:
    QuietLogs() { spdlog::set_level(spdlog::level::off); }
    ~QuietLogs() { spdlog::set_level(saved_); }
    QuietLogs(const QuietLogs&) = delete;
    QuietLogs& operator=(const QuietLogs&) = delete;

private:
    spdlog::level::level_enum saved_ = spdlog::get_level();
};

// Limits with resume on (a bare HubLimits has it off).
inline HubLimits resume_limits(std::chrono::seconds grace = std::chrono::seconds{30},
                               std::size_t buffer_bytes = std::size_t{1024} * 1024,
                               std::size_t max_room_size = Hub::default_max_room_size)
{
    HubLimits limits;
    limits.max_room_size = max_room_size;
    limits.resume_grace = grace;
    limits.resume_buffer_bytes = buffer_bytes;
    return limits;
}

class HubHarness
{
public:
    explicit HubHarness(HubLimits limits = {}, std::vector<ClientId> scripted_ids = {},
                        IceServersFor ice_servers = {}, JoinCheck join_check = {})
        : ids(std::move(scripted_ids)),
          hub(transport, ids, limits, clock.clock(), std::move(ice_servers), std::move(join_check))
    {
        transport.on_send = [this](const SentMessage& message) { check(message); };
        // A resume: the client behind the new connection is the one that held the membership,
        // so its view goes on; the new connection's own (empty) view is dropped.
        transport.on_rebind = [this](const ClientId& from, const ClientId&) { views_.erase(from); };
    }
    HubHarness(const HubHarness&) = delete;
    HubHarness& operator=(const HubHarness&) = delete;

    // Connects a client and gives it a fresh view.
    ClientId connect()
    {
        ClientId id = hub.connect();
        views_.insert_or_assign(id, ClientView(id));
        return id;
    }
    void send(const ClientId& from, std::string_view text) { hub.on_text(from, text); }
    // A suspended member keeps its view: its client comes back with resume.
    void disconnect(const ClientId& id, ConnectionEnd end = ConnectionEnd::closed)
    {
        hub.disconnect(id, end);
        if (hub.is_suspended(id))
            suspended_views_.insert(id);
        else
            views_.erase(id);
    }
    // Everything sent since the last take(), in order; the record is then cleared.
    std::vector<SentMessage> take() { return transport.take(); }

    // Sends text from id and returns the one message id got for it; a failure if not exactly one.
    SentMessage reply(const ClientId& id, std::string_view text)
    {
        take();
        send(id, text);
        const auto sent = transport.to(id);
        EXPECT_EQ(sent.size(), 1u) << text;
        return sent.empty() ? SentMessage{} : sent.front();
    }

    // Connects n clients and puts them all in room, discarding what that sends.
    std::vector<ClientId> fill(std::string_view room, std::size_t n)
    {
        std::vector<ClientId> out;
        for (std::size_t i = 0; i < n; ++i) {
            out.push_back(connect());
            send(out.back(), R"({"action":"join","roomId":")" + std::string(room) + R"("})");
        }
        take();
        return out;
    }

    // The registry's members of room, in join order.
    std::vector<ClientId> members(const std::string& room) const
    {
        std::vector<ClientId> out;
        for (const Member& member : hub.rooms().members(room))
            out.push_back(member.client_id);
        return out;
    }

    // What each connected client has been told.
    const std::map<ClientId, ClientView>& views() const { return views_; }
    const ClientView& view(const ClientId& id) const { return views_.at(id); }

    // The registry and Hub agree with every client's view: its room, and that room's members in
    // join order with their names.
    void expect_views_match_registry()
    {
        // A suspended member that the hub let go (expired, overflowed, failed to resume) has no
        // client left to check; one that is still suspended is behind by design.
        for (auto id = suspended_views_.begin(); id != suspended_views_.end();) {
            if (hub.is_suspended(*id)) {
                ++id;
                continue;
            }
            if (hub.room_of(*id) == std::nullopt && !resumed(*id))
                views_.erase(*id);
            id = suspended_views_.erase(id);
        }
        ASSERT_EQ(hub.client_count() + hub.suspended_count(), views_.size());
        for (const auto& [id, view] : views_) {
            if (hub.is_suspended(id))
                continue;
            ASSERT_EQ(hub.room_of(id), view.room()) << id;
            if (!view.room())
                continue;
            const auto members = hub.rooms().members(*view.room());
            ASSERT_EQ(members.size(), view.members().size()) << id << " in " << *view.room();
            for (std::size_t i = 0; i < members.size(); ++i) {
                ASSERT_EQ(members[i].client_id, view.members()[i]) << id << " in " << *view.room();
                if (members[i].client_id != id) {
                    ASSERT_EQ(members[i].name(), view.name_of(members[i].client_id)) << id;
                    ASSERT_EQ(members[i].suspended, view.is_suspended(members[i].client_id))
                        << id << " about " << members[i].client_id;
                    const auto state =
                        members[i].state()
                            ? std::optional(
                                  nlohmann::json::parse(*members[i].state(), nullptr, false).dump())
                            : std::nullopt;
                    ASSERT_EQ(state, view.state_of(members[i].client_id))
                        << id << " about " << members[i].client_id;
                }
            }
        }
    }

    QuietLogs quiet;
    ManualClock clock;
    FakeTransport transport;
    FixedIds ids;
    Hub hub;

private:
    void check(const SentMessage& message)
    {
        const auto view = views_.find(message.to);
        if (view == views_.end()) {
            ADD_FAILURE() << "sent to a client that is not connected: " << message.to << " "
                          << message.text;
            return;
        }
        // `data` is relayed verbatim, so it may hold a number too large for nlohmann (1e400): read
        // such a message as the fuzzers do, with that number as 0.
        const nlohmann::json parsed =
            message.json().is_discarded() ? fuzz::parse_json(message.text) : nlohmann::json();
        const nlohmann::json& json = message.json().is_discarded() ? parsed : message.json();
        if (const auto violation = view->second.apply(json))
            ADD_FAILURE() << message.to << " was told something the protocol forbids ("
                          << violation->rule << ": " << violation->detail << "): " << message.text;
    }

    // Whether a resume handed id a new connection (and so its view goes on).
    bool resumed(const ClientId& id) const
    {
        for (const auto& [from, to] : transport.rebound)
            if (to == id)
                return true;
        return false;
    }

    std::map<ClientId, ClientView> views_; // the clients connected through connect()
    std::set<ClientId> suspended_views_;   // views of members suspended at some point
};

} // namespace signald::test
