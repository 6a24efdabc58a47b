#pragma once
// ClientView: the test oracle of what one client must have been told. It rebuilds the client's
// picture of its room from the messages it received, in order, as a browser would, and checks at
// each message the rules of docs/protocol.md section 9 that make one receiver's stream
// self-consistent. The hub unit tests, fuzz_hub and the chaos test all apply their clients'
// messages here, so a protocol change teaches this one file. nlohmann only: no Asio, no core.
//
// What one message may not do, by rule name (Violation::rule):
//   not-an-object, no-action, unknown-action;
//   error-bad: error without a known code or a message;
//   no-room-id: any other message without a string roomId;
//   joined-before-left: joined while the view is in a room (a switch hears left first);
//   joined-bad-id: clientId not 10 characters of [0-9a-z]; id-changed: not the client's own id;
//   joined-no-peers, joined-bad-peers: peers not an array, or listing itself, a duplicate, a
//     peer without a clientId, or an empty or non-string name;
//   <action>-wrong-room: peer-joined, peer-left, left or signal for a room the view is not in;
//   peer-joined-bad: no peer, or itself; peer-joined-duplicate: someone already in the view;
//   peer-left-unknown: someone not in the view (a second peer-left for one departure);
//   signal-from-non-member: from someone not in the view (before peer-joined, after peer-left);
//   signal-bad-type: a type the protocol does not have; signal-misdirected: `to` not this client;
//   peer-suspended-bad: someone not in the view, or suspended already;
//   peer-resumed-bad: someone the view does not know as suspended (section 8.1);
//   resumed-bad: another clientId, or no resumeToken.
// A message that breaks a rule leaves the view as it was.

#include <nlohmann/json.hpp>

#include <cstddef>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace signald::test {

struct Violation
{
    std::string rule;   // a short name, stable for grouping reports
    std::string detail; // why, for a human
};

class ClientView
{
public:
    // self: the client's id if known beforehand (unit tests, fuzzer); empty to learn it from the
    // first joined (chaos, where only the server knows it).
    explicit ClientView(std::string self = {}) : self_(std::move(self)) {}

    // Checks message against the rules above, then applies it. Returns the first rule broken.
    std::optional<Violation> apply(const nlohmann::json& message);

    const std::string& self() const { return self_; }
    const std::optional<std::string>& room() const { return room_; }
    // Everyone in the room as this client was told, in join order, itself included (last at its
    // joined, since the joined.peers list comes before it). Empty outside a room.
    const std::vector<std::string>& members() const { return members_; }
    // The other members, in join order.
    std::vector<std::string> others() const;
    bool has_peer(const std::string& id) const { return names_.contains(id); }
    // Another member's name as announced; nullopt for no name. The peer must be in the view.
    const std::optional<std::string>& name_of(const std::string& id) const { return names_.at(id); }
    // Another member's latest state as announced (compact JSON text); nullopt for none yet.
    std::optional<std::string> state_of(const std::string& id) const
    {
        const auto state = states_.find(id);
        return state == states_.end() ? std::nullopt : state->second;
    }
    // Whether another member is suspended as this client was told.
    bool is_suspended(const std::string& id) const { return suspended_.contains(id); }
    // How many resumed messages this view has applied.
    int resumes() const { return resumes_; }
    // Whether its room is locked, as joined and room-locked said (section 7.4).
    bool locked() const { return locked_; }
    // Whether its last left said it was kicked.
    bool kicked() const { return kicked_; }
    // A fresh start after resume-failed: the client forgets its room and joins again.
    void forget_room()
    {
        room_.reset();
        members_.clear();
        names_.clear();
        suspended_.clear();
        episodes_.clear();
        states_.clear();
        locked_ = false;
    }

    // For each peer seen during the current membership: how often it arrived (joined.peers or
    // peer-joined) and departed (peer-left). Cleared by joined and left.
    struct Episode
    {
        int arrivals = 0;
        int departures = 0;
    };
    const std::map<std::string, Episode>& episodes() const { return episodes_; }

private:
    std::optional<Violation> apply_joined(const nlohmann::json& message, const std::string& room);
    std::optional<Violation> apply_signal(const nlohmann::json& message);

    std::string self_;
    std::optional<std::string> room_;
    std::vector<std::string> members_;
    std::map<std::string, std::optional<std::string>> names_;  // the other members
    std::map<std::string, std::optional<std::string>> states_; // theirs, as last announced
    std::map<std::string, Episode> episodes_;
    std::set<std::string> suspended_;
    int resumes_ = 0;
    bool locked_ = false;
    bool kicked_ = false;
};

// The signal types and error codes of docs/protocol.md, as the wire spells them.
bool is_protocol_signal_type(const std::string& type);
bool is_protocol_error_code(const std::string& code);

} // namespace signald::test
