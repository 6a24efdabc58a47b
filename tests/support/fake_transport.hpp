#pragma once
// A Transport that records every message Hub sends, in order, for unit tests to inspect, and
// shows each one to an observer as it is sent (HubHarness checks it against the client's view).

#include "signald/core/transport.hpp"

#include <nlohmann/json.hpp>

#include <functional>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace signald::test {

struct SentMessage
{
    ClientId to;
    std::string text; // exactly the bytes Hub handed over
    // text parsed (discarded if it is not valid JSON). Shared, so copying a record never copies a
    // DOM: copying or comparing a 100,000-level DOM would recurse that deep.
    std::shared_ptr<const nlohmann::json> parsed;

    const nlohmann::json& json() const { return *parsed; }
    std::string action() const { return field("action"); }
    std::string code() const { return field("code"); }

    // A top-level string field, or "" if absent or not a string.
    std::string field(const char* key) const
    {
        if (!parsed->is_object())
            return {};
        const auto it = parsed->find(key);
        return it != parsed->end() && it->is_string() ? it->get<std::string>() : std::string();
    }
};

class FakeTransport final : public Transport
{
public:
    void send(const ClientId& to, const Text& text) override
    {
        sent.push_back(SentMessage{
            to, *text,
            std::make_shared<const nlohmann::json>(nlohmann::json::parse(*text, nullptr, false))});
        if (on_send)
            on_send(sent.back());
    }

    // Everything sent since the last take(), in order; the record is then cleared.
    std::vector<SentMessage> take()
    {
        std::vector<SentMessage> out;
        out.swap(sent);
        return out;
    }

    // What one client was sent, in order, without clearing.
    std::vector<SentMessage> to(const ClientId& id) const
    {
        std::vector<SentMessage> out;
        for (const SentMessage& message : sent)
            if (message.to == id)
                out.push_back(message);
        return out;
    }

    void close(const ClientId& id, std::uint16_t code) override { closed.emplace_back(id, code); }
    bool abort(const ClientId& id, std::uint16_t code, std::string_view reason) override
    {
        aborted.push_back(Abort{id, code, std::string(reason)});
        if (on_abort)
            on_abort(id);
        return !closing.contains(id);
    }
    void rebind(const ClientId& from, const ClientId& to) override
    {
        rebound.emplace_back(from, to);
        if (on_rebind)
            on_rebind(from, to);
    }

    struct Abort
    {
        ClientId id;
        std::uint16_t code;
        std::string reason;
    };

    bool cut_off() const override { return is_cut_off; }
    bool reaches(const ClientId& id) const override
    {
        return !is_cut_off || !unreachable.contains(id);
    }

    std::vector<SentMessage> sent;
    std::vector<std::pair<ClientId, std::uint16_t>> closed; // close requests, in order
    // As a clustered node without Redis: joins refused, and these clients out of reach.
    bool is_cut_off = false;
    std::set<ClientId> unreachable;
    std::vector<Abort> aborted;
    std::set<ClientId> closing; // connections whose close is under way: abort() says so
    std::vector<std::pair<ClientId, ClientId>> rebound; // (connection, the client it now serves)
    std::function<void(const SentMessage&)> on_send;    // called after each send is recorded
    std::function<void(const ClientId&)> on_abort;
    std::function<void(const ClientId&, const ClientId&)> on_rebind;
};

} // namespace signald::test
