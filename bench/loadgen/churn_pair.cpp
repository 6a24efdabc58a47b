#include "churn_pair.hpp"

#include "churn_run.hpp"
#include "json_scan.hpp"
#include "signal_payload.hpp"

namespace bench {

struct ChurnPair::Message
{
    std::span<char> text;
    std::string_view action, room, client_id, peers, peer, from, to, type, data, code;
};

namespace {

// The clientId inside a peer object ({"clientId":..,"name"?:..}); empty if there is none.
std::string_view peer_client_id(std::string_view peer)
{
    std::string_view id;
    json::for_each_member(peer, [&](std::string_view key, std::string_view raw) {
        if (key == "clientId")
            json::as_plain(raw, id);
    });
    return id;
}

} // namespace

void ChurnPair::begin()
{
    ++iteration_;
    active_ = true;
    last_progress_ = Clock::now();
    room_.clear();
    room_ += 'c';
    room_ += std::to_string(index_);
    room_ += '-';
    room_ += std::to_string(iteration_);
    a_id_.clear();
    b_id_.clear();
    a_joined_ = b_open_ = b_join_sent_ = offer_sent_ = answer_sent_ = false;
    a_ = std::make_shared<WsClient>(run_.io(), *this, 0);
    b_ = std::make_shared<WsClient>(run_.io(), *this, 1);
    a_->start(run_.next_target(), run_.next_source(), run_.next_key_seed());
    b_->start(run_.next_target(), run_.next_source(), run_.next_key_seed());
}

void ChurnPair::abandon()
{
    if (a_)
        a_->abort();
    if (b_)
        b_->abort();
    a_.reset();
    b_.reset();
    active_ = false;
}

const char* ChurnPair::step() const
{
    if (!a_joined_)
        return "A connecting or joining";
    if (!b_join_sent_)
        return "B connecting";
    if (!offer_sent_)
        return "A waiting for peer-joined";
    if (!answer_sent_)
        return "B waiting for the offer";
    return "A waiting for the answer";
}

void ChurnPair::violation(const char* what)
{
    run_.violations().add("churn pair %zu session %llu (%s): %s", index_,
                          static_cast<unsigned long long>(iteration_), room_.c_str(), what);
}

void ChurnPair::on_open(WsClient& client)
{
    if (&client == a_.get()) {
        client.send_text(R"({"action":"join","roomId":")" + room_ + "\"}");
    } else if (&client == b_.get()) {
        b_open_ = true;
        join_b_when_ready();
    }
    last_progress_ = Clock::now();
}

// B joins only after A's joined, so A always learns of B through peer-joined.
void ChurnPair::join_b_when_ready()
{
    if (!b_open_ || !a_joined_ || b_join_sent_)
        return;
    b_join_sent_ = true;
    b_->send_text(R"({"action":"join","roomId":")" + room_ + "\"}");
}

void ChurnPair::on_text(WsClient& client, std::span<char> text)
{
    const bool for_a = &client == a_.get();
    if (!for_a && &client != b_.get())
        return; // a closing connection of an earlier session
    Message m;
    m.text = text;
    const bool ok = json::for_each_member(std::string_view(text.data(), text.size()),
                                          [&](std::string_view key, std::string_view raw) {
                                              if (key == "action")
                                                  json::as_plain(raw, m.action);
                                              else if (key == "roomId")
                                                  json::as_plain(raw, m.room);
                                              else if (key == "clientId")
                                                  json::as_plain(raw, m.client_id);
                                              else if (key == "peers")
                                                  m.peers = raw;
                                              else if (key == "peer")
                                                  m.peer = raw;
                                              else if (key == "from")
                                                  json::as_plain(raw, m.from);
                                              else if (key == "to")
                                                  json::as_plain(raw, m.to);
                                              else if (key == "type")
                                                  json::as_plain(raw, m.type);
                                              else if (key == "data")
                                                  m.data = raw;
                                              else if (key == "code")
                                                  json::as_plain(raw, m.code);
                                          });
    last_progress_ = Clock::now();
    if (!ok)
        return violation("received a message that is not a JSON object");
    if (m.action == "error") {
        const std::string what = "received error " + std::string(m.code);
        return violation(what.c_str());
    }
    if (m.room != room_)
        return violation("received a message for another room");
    if (for_a)
        on_text_for_a(m);
    else
        on_text_for_b(m);
}

void ChurnPair::on_text_for_a(const Message& m)
{
    if (m.action == "joined") {
        std::size_t peers = 0;
        json::for_each_element(m.peers, [&](std::string_view) { ++peers; });
        if (peers != 0)
            violation("A's joined lists peers in a fresh room");
        if (m.client_id.empty())
            return violation("A's joined has no clientId");
        a_id_ = m.client_id;
        a_joined_ = true;
        return join_b_when_ready();
    }
    if (m.action == "peer-joined" && !offer_sent_) {
        const std::string_view b = peer_client_id(m.peer);
        if (b.empty())
            return violation("A's peer-joined has no peer.clientId");
        offer_sent_ = true;
        return send_signal(*a_, "offer", 2 * index_, b);
    }
    if (m.action == "signal" && offer_sent_) {
        if (check_signal(m, "answer", 2 * index_ + 1, b_id_, a_id_))
            finish_session();
        return;
    }
    const std::string what = "A received unexpected " + std::string(m.action);
    violation(what.c_str());
}

void ChurnPair::on_text_for_b(const Message& m)
{
    if (m.action == "joined") {
        std::string_view only_peer;
        std::size_t peers = 0;
        json::for_each_element(m.peers, [&](std::string_view peer) {
            ++peers;
            only_peer = peer_client_id(peer);
        });
        if (peers != 1 || only_peer != a_id_)
            violation("B's joined does not list exactly A");
        if (m.client_id.empty())
            return violation("B's joined has no clientId");
        b_id_ = m.client_id;
        return;
    }
    if (m.action == "signal" && !answer_sent_) {
        if (!check_signal(m, "offer", 2 * index_, a_id_, b_id_))
            return;
        answer_sent_ = true;
        return send_signal(*b_, "answer", 2 * index_ + 1, a_id_);
    }
    const std::string what = "B received unexpected " + std::string(m.action);
    violation(what.c_str());
}

void ChurnPair::send_signal(WsClient& client, std::string_view type, std::uint64_t sender,
                            std::string_view to)
{
    SignalSpec spec;
    spec.room_id = room_;
    spec.type = type;
    spec.to = to;
    spec.sender = sender;
    spec.seq = iteration_;
    spec.sent_ns = ns_since_start(Clock::now());
    append_signal_frame(client.outbox(), spec);
    client.flush_soon();
}

bool ChurnPair::check_signal(const Message& m, std::string_view type, std::uint64_t sender,
                             std::string_view from, std::string_view to)
{
    if (m.type != type)
        return violation("signal has the wrong type"), false;
    if (m.from != from)
        return violation("signal's from is not the sender's clientId"), false;
    if (m.to != to)
        return violation("signal's to is not the receiver's clientId"), false;
    PayloadFields fields;
    if (const char* why = parse_payload(m.data, fields))
        return violation(why), false;
    if (fields.sender != sender || fields.seq != iteration_)
        return violation("signal data names another sender or session"), false;
    if (run_.take_corruption() && !fields.padding.empty())
        m.text[static_cast<std::size_t>(fields.padding.data() - m.text.data())] ^= 0x01;
    if (!payload_intact(m.data, type, fields))
        return violation("signal data arrived altered"), false;
    return true;
}

void ChurnPair::finish_session()
{
    run_.on_session_done();
    // Close both and move on at once: the close handshakes finish in the background.
    a_->close();
    b_->close();
    a_.reset();
    b_.reset();
    active_ = false;
    if (run_.running())
        begin();
}

void ChurnPair::on_failed(WsClient& client, std::string_view why)
{
    if (&client != a_.get() && &client != b_.get())
        return;
    const std::string what = std::string(&client == a_.get() ? "A: " : "B: ") + std::string(why);
    abandon();
    run_.on_connection_failed(what);
    if (run_.running())
        begin();
}

} // namespace bench
