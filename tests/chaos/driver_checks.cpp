// What each chaos client is told, checked as it arrives: the driver's own rules (requests and
// answers, the data it put in signals), then the protocol's through the shared oracle
// (tests/support/client_view.hpp). Then phase 2: the server's member lists against every view,
// the final exchange, and /metrics against what the clients believe.

#include "driver.hpp"

#include <algorithm>
#include <cmath>
#include <set>

namespace signald::test::chaos {
namespace {

// A top-level string field, or "" if absent or of another type.
std::string text_field(const json& object, const char* key)
{
    const auto field = object.find(key);
    return field != object.end() && field->is_string() ? field->get<std::string>() : std::string();
}

} // namespace

// ---- incoming messages: every rule of chaos_test.cpp's header comment ----

void Driver::wrong(const Client& c, const std::string& kind, const std::string& why,
                   std::string_view text)
{
    problem(kind, why + ": " + std::string(text.substr(0, 300)) + " to " + c.describe());
}

void Driver::on_message(Client& c, const json& m, std::string_view text)
{
    const std::string action = text_field(m, "action");
    const std::string room = text_field(m, "roomId");

    // The driver's own rule first: left and joined only answer a request the client made, and a
    // client has at most one join or leave outstanding, so its idea of its room is the server's.
    if (action == "left") {
        c.note("left " + room);
        const bool asked = (c.pending == Client::Pending::leave && c.pending_room == room) ||
                           (c.pending == Client::Pending::join && c.room());
        if (!asked)
            return wrong(c, "left-unexpected", "left without a leave or a switch pending", text);
    } else if (action == "joined") {
        c.note("joined " + room);
        if (c.pending != Client::Pending::join || c.pending_room != room)
            return wrong(c, "joined-unexpected", "joined without a join for that room pending",
                         text);
        clear_pending(c);
    } else if (action == "resumed") {
        c.note("resumed " + room);
        if (c.pending != Client::Pending::resume || c.fail_resume)
            return wrong(c, "resumed-unexpected", "resumed without a resume pending", text);
        // Anyone's peer-suspended for it from now on is about a later cut, not the node's death.
        victims_killed_at_.erase(c.id);
        // The connection taken over was ended before this: read it for its close 4001.
        if (auto old = std::exchange(c.taken_over, nullptr);
            old && old->state != Client::State::dead)
            do_read(old);
    } else if (action == "signal") {
        ++stats_.signals_delivered;
    } else if (action == "peer-joined") {
        ++stats_.peer_joined;
    } else if (action == "peer-left") {
        ++stats_.peer_left;
    } else if (action == "peer-suspended") {
        ++stats_.peer_suspended;
        // Heard live, that is: a connection opened after the kill may be a resume, whose
        // replay brings a peer-suspended the server sent long before.
        if (const auto victim = victims_killed_at_.find(text_field(m, "clientId"));
            victim != victims_killed_at_.end() && c.opened_at < victim->second) {
            ++stats_.victims_suspended_heard;
            stats_.victim_suspended_max_ms =
                std::max(stats_.victim_suspended_max_ms, ms_since(victim->second));
        }
    } else if (action == "peer-resumed") {
        ++stats_.peer_resumed;
    }

    // Then the protocol's rules for one receiver's stream (docs/protocol.md section 9), kept by
    // the oracle the hub unit tests and fuzz_hub use too.
    const bool first_joined = c.id.empty();
    if (const auto violation = c.view.apply(m))
        return wrong(c, violation->rule, violation->detail, text);

    if (action == "left" && c.pending == Client::Pending::leave)
        clear_pending(c);
    else if (action == "joined")
        on_joined(c, first_joined, text);
    else if (action == "resumed")
        on_resumed(c, text);
    else if (action == "peer-resumed" &&
             std::erase(c.listed_suspended, text_field(m, "clientId")) > 0)
        ++stats_.resumed_listed;
    else if (action == "signal")
        on_signal(c, m, room, text);
    else if (action == "error")
        on_error(c, m, text);
}

void Driver::on_joined(Client& c, bool first_joined, std::string_view text)
{
    // The oracle has checked the id's shape and that it never changes within a connection.
    if (first_joined) {
        c.id = c.view.self();
        if (!ids_seen_.insert(c.id).second)
            return wrong(c, "id-reused", "clientId already given to another connection", text);
    }
    c.listed_suspended.clear();
    for (const auto& peer : c.view.others())
        if (c.view.is_suspended(peer))
            c.listed_suspended.push_back(peer);
    if (c.probe)
        c.snapshot = c.view.others();
}

void Driver::on_resumed(Client& c, std::string_view text)
{
    // The oracle has checked the clientId and the room; the replay that follows continues the
    // same stream, so the view and the per-sender sequence numbers go on as they were.
    (void)text;
    ++stats_.resumes;
    clear_pending(c);
    c.resumes = false;
}

void Driver::count_received(Client& c, const json& m, std::string_view text)
{
    const std::string action = text_field(m, "action");
    if (action == "joined" || action == "resumed") {
        c.token = text_field(m, "resumeToken");
        c.received = 0;
        if (c.token.empty())
            wrong(c, "no-resume-token", action + " without a resumeToken", text);
    } else if (action == "left") {
        c.token.clear(); // the token dies with left
        c.received = 0;
    } else {
        ++c.received;
    }
}

void Driver::on_signal(Client& c, const json& m, const std::string& room, std::string_view text)
{
    // The oracle has checked the room, that `from` is in the view, the type and `to`; the data
    // this driver put in says the rest: who sent it, where, to whom, and in what order.
    const std::string from = text_field(m, "from");
    if (!m.contains("data") || !m["data"].is_object())
        return wrong(c, "signal-bad-data", "data missing or altered", text);
    const json& data = m["data"];
    if (text_field(data, "f") != from)
        return wrong(c, "signal-wrong-from", "from is not the sender's clientId", text);
    if (text_field(data, "r") != room)
        return wrong(c, "signal-cross-room", "signal sent in another room", text);
    const bool directed = data.contains("t");
    if (directed != m.contains("to"))
        return wrong(c, "signal-to-mismatch", "to present on a broadcast or missing on a directed",
                     text);
    if (directed && text_field(data, "t") != c.id)
        return wrong(c, "signal-misdirected", "directed signal for someone else", text);
    const std::uint64_t seq = data.value("s", std::uint64_t{0});
    auto& last = c.last_seq[from];
    if (seq <= last)
        return wrong(c, "signal-order",
                     "sequence number " + std::to_string(seq) + " after " + std::to_string(last) +
                         " from the same sender (duplicate or reordered)",
                     text);
    last = seq;
    if (data.value("p", 0) == 2)
        ++c.final_received;
}

void Driver::on_error(Client& c, const json& m, std::string_view text)
{
    // The only error expected: the target of a signal left while it was on its way.
    if (text_field(m, "code") == "unknown-peer" && text_field(m, "request") == "signal") {
        ++stats_.unknown_peer;
        return;
    }
    // And resume-failed for a resume that claimed too much, on purpose, or that came when the
    // grace period may have ended (a driver slowed down by a loaded machine; the server's grace
    // began after our cut, so not before): the member is gone (the others hear peer-left) and
    // this connection is a fresh client that may join.
    const bool late = c.cut_at && Clock::now() - *c.cut_at >= resume_grace();
    if (text_field(m, "code") == "resume-failed" && text_field(m, "request") == "resume" &&
        c.pending == Client::Pending::resume && (c.fail_resume || late)) {
        ++(c.fail_resume ? stats_.resumes_failed : stats_.resumes_late);
        clear_pending(c);
        fates_[c.id] = std::string(c.fail_resume ? "resume failed on purpose; "
                                                 : "resumed after its grace period; ") +
                       c.describe();
        c.note("resume failed");
        c.view = ClientView();
        c.id.clear();
        c.token.clear();
        c.listed_suspended.clear();
        c.resumes = false;
        c.fail_resume = false;
        return;
    }
    wrong(c, "error", "unexpected error reply", text);
    if (text_field(m, "request") != "signal")
        clear_pending(c);
}

// ---- phase 2 checks ----

std::size_t Driver::probes_joined() const
{
    return static_cast<std::size_t>(std::count_if(live_.begin(), live_.end(), [](const auto& c) {
        return c->probe && c->room().has_value();
    }));
}

void Driver::expect_metrics_match_beliefs(const char* when)
{
    // At rest every cut member has resumed or expired: none is suspended.
    Gauges expected{static_cast<long>(live_.size()), static_cast<long>(live_.size()), 0, 0, 0};
    std::set<std::string> rooms;
    for (const auto& c : live_)
        if (c->room()) {
            ++expected.members;
            rooms.insert(*c->room());
        }
    expected.rooms = static_cast<long>(rooms.size());
    Gauges last;
    // Departures finish on the server a moment after our side is done; give it a deadline.
    if (!poll_metrics(
            [&](const Gauges& g) {
                last = g;
                return g == expected;
            },
            Clock::now() + 5s))
        problem("metrics-mismatch", std::string(when) + ": /metrics shows " + last.describe() +
                                        ", clients believe " + expected.describe());
}

std::optional<std::vector<Exposition>> Driver::fetch_all_metrics()
{
    std::vector<Exposition> all;
    for (const std::size_t node : nodes_.up_nodes()) {
        try {
            all.push_back(fetch_metrics(nodes_.port(node)));
        } catch (const std::exception& e) {
            problem("metrics",
                    "GET /metrics of node " + std::to_string(node) + " failed: " + e.what());
            return std::nullopt;
        }
        for (const auto& found : all.back().problems)
            problem("metrics-format",
                    "GET /metrics of node " + std::to_string(node) + ": " + found);
    }
    return all;
}

std::optional<Gauges> Driver::read_gauges()
{
    const auto all = fetch_all_metrics();
    if (!all)
        return std::nullopt;
    Gauges sum{0, 0, 0, 0, 0};
    for (const Exposition& metrics : *all) {
        const Gauges g = gauges_of(metrics);
        if (g.connections < 0 || g.sessions < 0 || g.rooms < 0 || g.members < 0 || g.suspended < 0)
            return g; // a gauge missing: reported as it is, and never accepted
        sum.connections += g.connections;
        sum.sessions += g.sessions;
        sum.rooms += g.rooms;
        sum.members += g.members;
        sum.suspended += g.suspended;
    }
    return sum;
}

void Driver::expect_no_rejections()
{
    const auto all = fetch_all_metrics();
    if (!all)
        return;
    for (const Exposition& metrics : *all)
        for (const auto& [series, value] : metrics.family("signald_rejections_total"))
            if (value != 0)
                problem("rejections", series + " is " + std::to_string(value));
}

void Driver::compare_views_with_server()
{
    std::map<std::string, std::vector<const Client*>> believers;
    std::map<std::string, const Client*> probe_of;
    std::unordered_map<std::string, const Client*> by_id;
    for (const auto& c : live_) {
        if (!c->id.empty())
            by_id[c->id] = c.get();
        if (c->probe)
            probe_of[c->probe_room] = c.get();
        else if (c->room())
            believers[*c->room()].push_back(c.get());
    }
    auto who = [&](const std::string& id) {
        if (const auto found = by_id.find(id); found != by_id.end())
            return found->second->describe();
        if (const auto fate = fates_.find(id); fate != fates_.end())
            return "gone: " + fate->second;
        return id + " (never seen by any client)";
    };

    for (const auto& room : rooms_) {
        const Client& probe = *probe_of.at(room);
        const std::set<std::string> server(probe.snapshot.begin(), probe.snapshot.end());
        for (const auto& id : probe.listed_suspended)
            problem("suspended-at-rest", room + " lists as suspended " + who(id));
        std::set<std::string> believed;
        for (const Client* member : believers[room])
            believed.insert(member->id);
        for (const auto& id : server)
            if (!believed.contains(id))
                problem("ghost-member", room + " on the server holds " + who(id));
        for (const auto& id : believed)
            if (!server.contains(id))
                problem("missing-member", room + " on the server lacks " + who(id));

        // Each member's own view: the server's list, minus itself, plus the probe.
        for (const Client* member : believers[room]) {
            ++stats_.view_checks;
            std::set<std::string> expected = server;
            expected.erase(member->id);
            expected.insert(probe.id);
            const auto others = member->view.others();
            const std::set<std::string> view(others.begin(), others.end());
            for (const auto& id : others)
                if (member->view.is_suspended(id))
                    problem("suspended-in-view", room + ": " + member->describe() +
                                                     " still believes suspended " + who(id));
            if (view != expected) {
                std::string diff;
                for (const auto& id : view)
                    if (!expected.contains(id))
                        diff += "\n      sees departed " + who(id);
                for (const auto& id : expected)
                    if (!view.contains(id))
                        diff += "\n      does not see " + who(id);
                problem("view-mismatch", room + ": " + member->describe() + diff);
            }
            // Every peer it ever saw in this membership that has gone: exactly one peer-left.
            for (const auto& [peer, counts] : member->view.episodes()) {
                const int still_there = server.contains(peer) || peer == probe.id ? 1 : 0;
                const int departures = counts.arrivals - still_there;
                if (counts.departures != departures)
                    problem("peer-left-count", room + ": " + std::to_string(counts.departures) +
                                                   " peer-left for " + std::to_string(departures) +
                                                   " departures of " + who(peer) + " seen by " +
                                                   member->describe());
                else
                    stats_.peer_left_exact_checks += static_cast<std::size_t>(departures);
            }
        }
    }
}

void Driver::final_exchange()
{
    for (const auto& c : live_) {
        c->final_expected = 0;
        c->final_received = 0;
    }
    std::unordered_map<std::string, Client*> by_id;
    for (const auto& c : live_)
        if (!c->id.empty())
            by_id[c->id] = c.get();
    for (const auto& c : live_) {
        if (!c->room())
            continue;
        send_signal(c, nullptr, 2);
        const auto others = c->view.others();
        for (const auto& peer : others)
            if (const auto found = by_id.find(peer); found != by_id.end())
                ++found->second->final_expected;
        if (!others.empty()) {
            const std::string& to = others[pick(others.size())];
            send_signal(c, &to, 2);
            if (const auto found = by_id.find(to); found != by_id.end())
                ++found->second->final_expected;
        }
    }
    if (!wait_quiet(1s, Clock::now() + 30s))
        problem("quiescence", "final exchange did not settle within 30 s: " + busy_report());
    for (const auto& c : live_) {
        stats_.final_signals += c->final_received;
        if (c->final_received != c->final_expected)
            problem("signal-lost", "final exchange: received " + std::to_string(c->final_received) +
                                       " of " + std::to_string(c->final_expected) + " signals " +
                                       c->describe());
    }
}

} // namespace signald::test::chaos

namespace signald::test::chaos {

void Driver::await_no_suspended(const char* when)
{
    Gauges last;
    if (!poll_metrics(
            [&](const Gauges& g) {
                last = g;
                return g.suspended == 0;
            },
            Clock::now() + resume_grace() + 5s))
        problem("suspended-forever", std::string(when) + ": members still suspended " +
                                         std::to_string((resume_grace() + 5s).count()) +
                                         " s after the last cut: " + last.describe());
    // Their expiry's peer-left must reach everyone before views are compared.
    if (!wait_quiet(500ms, Clock::now() + 30s))
        problem("quiescence", "expiries did not settle within 30 s: " + busy_report());
}

std::map<std::string, double> Driver::resume_events()
{
    // Added up over the nodes that are up: only the leader's Hub decides about members, so the
    // others' are zero, and a killed node takes no count with it.
    std::map<std::string, double> events;
    const auto all = fetch_all_metrics();
    if (!all)
        return events;
    for (const Exposition& metrics : *all)
        for (const char* event : {"suspended", "resumed", "failed", "expired"})
            events[event] +=
                metrics.at(std::string("signald_resume_events_total{event=\"") + event + "\"}");
    return events;
}

void Driver::expect_resume_events()
{
    // Everyone has gone and every grace period is over, so each suspension has ended in exactly
    // one way: resumed, failed (a valid token with a bad count) or expired.
    std::map<std::string, double> now = resume_events();
    std::map<std::string, long> delta;
    for (const auto& [event, value] : now) {
        if (std::isnan(value) || std::isnan(events_at_start_[event])) {
            problem("resume-events", "signald_resume_events_total{event=\"" + event +
                                         "\"} is missing from /metrics");
            return;
        }
        delta[event] = std::lround(value - events_at_start_[event]);
    }
    const Stats& s = stats_;
    auto expect = [&](const std::string& event, std::size_t low, std::size_t high) {
        if (delta[event] < static_cast<long>(low) || delta[event] > static_cast<long>(high))
            problem("resume-events",
                    event + ": the server counted " + std::to_string(delta[event]) +
                        ", the clients expect " +
                        (low == high ? std::to_string(low)
                                     : std::to_string(low) + ".." + std::to_string(high)));
    };
    // A late resume failed on an expired token: its member expired, and the failure counts.
    // A resume on its way when its node was killed may have been counted, as resumed or failed.
    expect("resumed", s.resumes, s.resumes + s.resumes_maybe);
    expect("failed", s.resumes_failed + s.resumes_late,
           s.resumes_failed + s.resumes_late + s.resumes_maybe);
    expect("suspended", s.suspensions_certain, s.suspensions_certain + s.suspensions_maybe);
    expect("expired", s.expiries_certain + s.resumes_late,
           s.expiries_certain + s.resumes_late + s.suspensions_maybe);
    // A run that did none of these checked nothing about them.
    if (s.resumes == 0 || s.resumes_failed == 0 || s.takeover_4001 == 0 || s.resumed_listed == 0 ||
        s.expiries_certain == 0)
        problem("resume-unexercised",
                "resumed " + std::to_string(s.resumes) + ", failed on purpose " +
                    std::to_string(s.resumes_failed) + ", takeovers with close 4001 " +
                    std::to_string(s.takeover_4001) + ", peer-resumed to later joiners " +
                    std::to_string(s.resumed_listed) + ", expiries " +
                    std::to_string(s.expiries_certain) + ": each must have happened");
    // A failed resume ends a suspension only if its member was suspended: one that finds the old
    // connection still open removes the member without suspending it (protocol.md 8.1). On one
    // node a cut is read before the resume that follows it, so every failure ends a suspension;
    // in a cluster the resume may reach the leader before the edge's word of the cut, so some
    // may not.
    const long failed_live = delta["failed"] - static_cast<long>(s.resumes_late);
    const long ended_least =
        delta["resumed"] + delta["expired"] + (nodes_.clustered() ? 0 : failed_live);
    const long ended_most = delta["resumed"] + delta["expired"] + failed_live;
    if (delta["suspended"] < ended_least || delta["suspended"] > ended_most)
        problem("resume-events",
                "suspended " + std::to_string(delta["suspended"]) +
                    " is not resumed + failed with a live token (" +
                    (nodes_.clustered() ? "some of them, in a cluster" : "all of them") +
                    ") + expired (" + std::to_string(delta["resumed"]) + " + " +
                    std::to_string(failed_live) + " + " + std::to_string(delta["expired"]) + ")");
}

} // namespace signald::test::chaos
