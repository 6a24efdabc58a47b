// Hub::export_state and import_state: a hub's whole state as JSON, so another process can go on
// exactly where this one stopped (docs/cluster.md, "A node drains"). Kept apart from hub.cpp: it
// is plumbing, and the protocol's rules do not depend on it.

#include "signald/core/hub.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>

namespace signald {
namespace {

using nlohmann::json;

constexpr int state_version = 1;

std::string hex(const ResumeSecret& secret)
{
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (const std::uint8_t byte : secret) {
        out += digits[byte >> 4];
        out += digits[byte & 15];
    }
    return out;
}

bool unhex(const std::string& text, ResumeSecret& secret)
{
    if (text.size() != secret.size() * 2)
        return false;
    auto digit = [](char c) -> int {
        if (c >= '0' && c <= '9')
            return c - '0';
        if (c >= 'a' && c <= 'f')
            return c - 'a' + 10;
        return -1;
    };
    for (std::size_t i = 0; i < secret.size(); ++i) {
        const int high = digit(text[2 * i]);
        const int low = digit(text[2 * i + 1]);
        if (high < 0 || low < 0)
            return false;
        secret[i] = static_cast<std::uint8_t>(high * 16 + low);
    }
    return true;
}

} // namespace

std::vector<ClientId> Hub::client_ids() const
{
    std::vector<ClientId> ids;
    ids.reserve(clients_.size());
    for (const auto& [id, client] : clients_)
        ids.push_back(id);
    return ids;
}

void Hub::allow_gap(const ClientId& id)
{
    const auto client = clients_.find(id);
    if (client != clients_.end() && client->second.resume)
        client->second.resume->restored = true;
}

bool Hub::adopt_sent(const ClientId& id, std::uint64_t after, const Text& text)
{
    if (!resume_on())
        return true; // nothing is counted
    const auto client = clients_.find(id);
    if (client == clients_.end() || client->second.suspended || after > client->second.texts)
        return false;
    ClientState& state = client->second;
    // Texts handed since (the cut-off node delivered them after it) move one place on.
    if (state.resume) {
        if (after < state.resume->numbered_from)
            ++state.resume->numbered_from; // before its joined: not numbered, only counted
        else if (!state.resume->outbox.insert(after - state.resume->numbered_from + 1, text))
            return false; // the messages after it are no longer held
    }
    ++state.texts;
    return true;
}

std::string Hub::export_state(bool with_held) const
{
    const TimePoint now = clock_();
    json rooms = json::object();
    for (const auto& [room_id, members] : rooms_.all()) {
        json list = json::array();
        for (const Member& member : members) {
            json entry{{"id", member.client_id}, {"suspended", member.suspended}};
            if (member.name())
                entry["name"] = *member.name();
            if (member.state())
                entry["state"] = *member.state();
            list.push_back(std::move(entry));
        }
        rooms[room_id] = std::move(list);
    }
    json clients = json::array();
    for (const auto& [id, client] : clients_) {
        json entry{{"id", id},
                   {"texts", client.texts},
                   {"closing", client.closing},
                   {"spoke", client.spoke},
                   {"suspended", client.suspended}};
        if (client.in_room())
            entry["room"] = client.room;
        if (client.moderator())
            entry["moderator"] = true;
        if (!client.ban_key().empty())
            entry["ban_key"] = client.ban_key();
        if (client.resume) {
            const Resumable& held = *client.resume;
            json texts = json::array();
            if (with_held)
                for (const Text& text : held.outbox.held_texts())
                    texts.push_back(*text);
            const auto remaining =
                std::chrono::duration_cast<std::chrono::milliseconds>(held.expires - now).count();
            entry["resume"] =
                json{{"secret", hex(held.secret)},
                     {"numbered_from", held.numbered_from},
                     {"handed", held.handed},
                     {"expires_in_ms", client.suspended ? std::max<long long>(0, remaining) : 0},
                     {"first_held", with_held ? held.outbox.first_held() : held.outbox.last() + 1},
                     {"held", std::move(texts)},
                     // A gap already allowed (restored after a crash, or answered alone by
                     // its edge) stays allowed wherever the member goes next.
                     {"restored", held.restored}};
        }
        clients.push_back(std::move(entry));
    }
    json bans = json::array();
    for (const auto& [ban, ends] : bans_)
        bans.push_back(
            json{{"room", ban.first},
                 {"key", ban.second},
                 {"expires_in_ms",
                  std::chrono::duration_cast<std::chrono::milliseconds>(ends - now).count()}});
    return json{{"version", state_version},        {"rooms", std::move(rooms)},
                {"locked", rooms_.locked_rooms()}, {"clients", std::move(clients)},
                {"suspended", suspended_},         {"bans", std::move(bans)}}
        .dump();
}

bool Hub::import_state(std::string_view text, Restore how)
{
    const bool after_crash = how == Restore::after_crash;
    // After a crash every member is suspended until it resumes: without resume there is
    // nothing to go on with.
    if (after_crash && !resume_on())
        return true;
    const json state = json::parse(text, nullptr, false);
    if (state.is_discarded() || !state.is_object() || state.value("version", 0) != state_version)
        return false;
    try {
        const TimePoint now = clock_();
        std::unordered_map<ClientId, ClientState> imported;
        for (const json& entry : state.at("clients")) {
            const ClientId id = entry.at("id").get<std::string>();
            if (clients_.contains(id))
                continue;
            ClientState client{
                .room = {}, .limiter = RateLimiter(rate_policy_, now), .resume = std::nullopt};
            if (entry.contains("room"))
                client.room = entry.at("room").get<std::string>();
            // After a crash only members come back (a connection in no room is gone for good),
            // and only those that can resume.
            if (after_crash && (!client.in_room() || !entry.contains("resume")))
                continue;
            client.texts = entry.at("texts").get<std::uint64_t>();
            client.closing = entry.at("closing").get<bool>();
            client.spoke = entry.at("spoke").get<bool>();
            client.suspended = entry.at("suspended").get<bool>();
            // Absent in a state saved before moderation existed: nobody moderated.
            client.set_grant(entry.value("moderator", false),
                             entry.value("ban_key", std::string{}));
            if (entry.contains("resume")) {
                const json& held = entry.at("resume");
                Resumable resumable;
                if (!unhex(held.at("secret").get<std::string>(), resumable.secret))
                    return false;
                resumable.numbered_from = held.at("numbered_from").get<std::uint64_t>();
                resumable.handed = held.at("handed").get<std::uint64_t>();
                resumable.expires =
                    now + std::chrono::milliseconds(held.at("expires_in_ms").get<std::int64_t>());
                std::vector<Text> texts;
                for (const json& message : held.at("held"))
                    texts.push_back(make_text(message.get<std::string>()));
                resumable.outbox.restore(held.at("first_held").get<std::uint64_t>(),
                                         std::move(texts));
                resumable.restored = held.value("restored", false);
                if (after_crash) {
                    // Its connection went with the crash: suspended from now, for a whole grace
                    // period, with what it was last known to have been handed.
                    client.suspended = true;
                    resumable.restored = true;
                    resumable.handed = resumable.outbox.last();
                    resumable.expires = now + limits_.resume_grace;
                }
                client.resume = std::move(resumable);
            }
            imported.emplace(id, std::move(client));
        }
        std::vector<std::pair<std::string, Member>> members;
        for (const auto& [room_id, list] : state.at("rooms").items())
            for (const json& entry : list) {
                Member member(entry.at("id").get<std::string>(), std::nullopt, this_node,
                              after_crash || entry.at("suspended").get<bool>());
                if (entry.contains("name"))
                    member.set_name(entry.at("name").get<std::string>());
                if (entry.contains("state"))
                    member.set_state(entry.at("state").get<std::string>());
                if (imported.contains(member.client_id))
                    members.emplace_back(room_id, std::move(member));
            }
        std::vector<std::string> locked_rooms;
        std::vector<std::pair<std::pair<std::string, std::string>, TimePoint>> bans;
        for (const json& room : state.value("locked", json::array()))
            locked_rooms.push_back(room.get<std::string>());
        for (const json& ban : state.value("bans", json::array()))
            bans.emplace_back(
                std::pair{ban.at("room").get<std::string>(), ban.at("key").get<std::string>()},
                now + std::chrono::milliseconds(ban.at("expires_in_ms").get<std::int64_t>()));
        std::vector<ClientId> suspended;
        for (const json& id : state.at("suspended"))
            if (imported.contains(id.get<std::string>()))
                suspended.push_back(id.get<std::string>());
        if (after_crash)
            for (const auto& [id, client] : imported)
                if (std::find(suspended.begin(), suspended.end(), id) == suspended.end())
                    suspended.push_back(id);
        // Parsed whole: now it changes the hub.
        for (auto& [room_id, member] : members)
            rooms_.add(room_id, std::move(member));
        for (const std::string& room_id : locked_rooms)
            rooms_.set_locked(room_id, true); // a no-op when none of its members came
        for (const auto& [ban, ends] : bans) {
            TimePoint& until = bans_[ban];
            until = std::max(until, ends);
        }
        for (auto& [id, client] : imported)
            clients_.emplace(id, std::move(client));
        suspended_.insert(suspended_.end(), suspended.begin(), suspended.end());
        return true;
    } catch (const json::exception&) {
        return false;
    }
}

} // namespace signald
