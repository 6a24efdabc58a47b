#include "mesh.hpp"

#include "json_scan.hpp"
#include "signal_payload.hpp"
#include "violations.hpp"

#include <algorithm>

namespace bench {

Mesh::Mesh(boost::asio::io_context& io, MeshOptions options, Violations& violations,
           MeshListener& listener)
    : io_(io), options_(std::move(options)), violations_(violations), listener_(listener)
{
    const std::size_t n = options_.clients;
    const std::size_t room_count = (n + options_.members - 1) / options_.members;
    rooms_.reserve(room_count);
    for (std::size_t r = 0; r < room_count; ++r)
        rooms_.push_back(std::string("r").append(std::to_string(r)));
    clients_.resize(n);
    ids_.resize(n);
    peers_seen_.assign(n, 0);
    joined_.assign(n, 0);
    next_seq_.assign(n, 0);
    expected_seq_.assign(n * options_.members, 0);
}

std::size_t Mesh::room_size_of(std::size_t client) const
{
    const std::size_t first = client / options_.members * options_.members;
    return std::min(options_.members, options_.clients - first);
}

void Mesh::start()
{
    first_connect_ = Clock::now();
    connect_more();
}

void Mesh::connect_more()
{
    while (connecting_ < options_.connects_in_flight && next_to_connect_ < options_.clients) {
        const std::size_t i = next_to_connect_++;
        ++connecting_;
        clients_[i] = std::make_shared<WsClient>(io_, *this, i);
        const auto* source =
            options_.sources.empty() ? nullptr : &options_.sources[i % options_.sources.size()];
        const WsTarget& target = options_.targets[i % options_.targets.size()];
        clients_[i]->start(target, source, options_.seed * 1000003 + i);
    }
}

void Mesh::on_open(WsClient& client)
{
    std::string request = R"({"action":"join","roomId":")" + room_of(client.index()) + "\"}";
    client.send_text(request);
}

void Mesh::on_text(WsClient& client, std::span<char> text)
{
    const std::size_t i = client.index();
    std::string_view action, room, from, to, type, data, client_id, peers, peer, code;
    std::size_t from_count = 0; // a forged from the server kept would make two
    const bool ok = json::for_each_member(std::string_view(text.data(), text.size()),
                                          [&](std::string_view key, std::string_view raw) {
                                              // Dispatch on length first: most keys are rejected by
                                              // one comparison.
                                              switch (key.size()) {
                                              case 2:
                                                  if (key == "to")
                                                      json::as_plain(raw, to);
                                                  break;
                                              case 4:
                                                  if (key == "from") {
                                                      json::as_plain(raw, from);
                                                      ++from_count;
                                                  } else if (key == "type")
                                                      json::as_plain(raw, type);
                                                  else if (key == "data")
                                                      data = raw;
                                                  else if (key == "code")
                                                      json::as_plain(raw, code);
                                                  else if (key == "peer")
                                                      peer = raw;
                                                  break;
                                              case 5:
                                                  if (key == "peers")
                                                      peers = raw;
                                                  break;
                                              case 6:
                                                  if (key == "action")
                                                      json::as_plain(raw, action);
                                                  else if (key == "roomId")
                                                      json::as_plain(raw, room);
                                                  break;
                                              case 8:
                                                  if (key == "clientId")
                                                      json::as_plain(raw, client_id);
                                                  break;
                                              default:
                                                  break;
                                              }
                                          });
    if (!ok)
        return violations_.add("client %zu received a message that is not a JSON object", i);

    if (action == "signal")
        return on_signal(i, text, room, from, from_count, to, type, data);
    if (action == "joined")
        return on_joined(i, room, client_id, peers);
    if (action == "peer-joined")
        return on_peer_joined(i, room);
    if (action == "error")
        return violations_.add("client %zu received error %.*s", i, static_cast<int>(code.size()),
                               code.data());
    violations_.add("client %zu received unexpected action \"%.*s\"", i,
                    static_cast<int>(action.size()), action.data());
}

void Mesh::on_joined(std::size_t client, std::string_view room, std::string_view id,
                     std::string_view peers)
{
    if (joined_[client])
        return violations_.add("client %zu received a second joined", client);
    if (room != room_of(client))
        violations_.add("client %zu joined the wrong room", client);
    if (id.empty())
        violations_.add("client %zu: joined has no clientId", client);
    std::size_t peer_count = 0;
    if (!json::for_each_element(peers, [&](std::string_view) { ++peer_count; }))
        violations_.add("client %zu: joined has no peers array", client);
    ids_[client] = std::string(id);
    joined_[client] = 1;
    last_joined_ = Clock::now();
    peers_seen_[client] += static_cast<std::uint32_t>(peer_count);
    count_peer(client);
    --connecting_;
    connect_more();
}

void Mesh::on_peer_joined(std::size_t client, std::string_view room)
{
    if (!joined_[client] || room != room_of(client))
        return violations_.add("client %zu: peer-joined for a room it is not in", client);
    ++peers_seen_[client];
    count_peer(client);
}

void Mesh::count_peer(std::size_t client)
{
    const std::size_t others = room_size_of(client) - 1;
    if (peers_seen_[client] > others)
        return violations_.add("client %zu saw more peers than its room has", client);
    if (peers_seen_[client] == others && ++ready_ == options_.clients && !setup_done_) {
        setup_done_ = true;
        listener_.on_ready();
    }
}

std::size_t Mesh::directed_target(std::size_t sender, std::uint64_t seq) const
{
    const std::size_t first = sender / options_.members * options_.members;
    const std::size_t size = room_size_of(sender);
    if (size < 2)
        return sender; // never sent: a room of one has no one to direct to
    return first + (sender - first + mixed_directed_step(seq, size)) % size;
}

std::uint64_t Mesh::next_for(std::size_t sender, std::uint64_t from, std::size_t receiver) const
{
    // At most a few steps: only 1 in 16 signals is directed, and some of those to receiver.
    while (from < next_seq_[sender] && !reaches(sender, from, receiver))
        ++from;
    return from;
}

bool Mesh::send_signal(std::size_t sender, std::int64_t sent_ns)
{
    WsClient& client = *clients_[sender];
    if (!client.is_open())
        return false;
    const std::uint64_t seq = next_seq_[sender]++;
    const std::size_t room_size = room_size_of(sender);
    SignalSpec spec;
    spec.room_id = room_of(sender);
    spec.type = mixed_type_for(seq);
    spec.sender = sender;
    spec.seq = seq;
    spec.sent_ns = sent_ns;
    if (room_size > 1) {
        if (mixed_is_directed(seq))
            spec.to = ids_[directed_target(sender, seq)];
        // The next member's clientId: impersonation, not noise.
        const std::size_t first = sender / options_.members * options_.members;
        if (mixed_forges_from(seq))
            spec.forged_from = ids_[first + (sender - first + 1) % room_size];
    }
    sent_bytes_total_ += append_signal_frame(client.outbox(), spec);
    client.flush_soon();
    ++sent_total_;
    owed_total_ += receivers_of(sender, seq);
    return true;
}

void Mesh::on_signal(std::size_t client, std::span<char> text, std::string_view room,
                     std::string_view from, std::size_t from_count, std::string_view to,
                     std::string_view type, std::string_view data)
{
    PayloadFields fields;
    if (const char* why = parse_payload(data, fields))
        return violations_.add("client %zu: %s", client, why);
    const std::size_t sender = fields.sender;
    const std::size_t room_index = client / options_.members;
    if (sender >= options_.clients)
        return violations_.add("client %zu: data.s %zu names no client", client, sender);
    if (sender / options_.members != room_index)
        return violations_.add("client %zu in r%zu got a signal from client %zu of r%zu (leak)",
                               client, room_index, sender, sender / options_.members);
    if (sender == client)
        return violations_.add("client %zu received its own signal", client);
    if (room != rooms_[room_index])
        violations_.add("client %zu: signal names roomId \"%.*s\"", client,
                        static_cast<int>(room.size()), room.data());
    if (from != ids_[sender])
        violations_.add("client %zu: signal from client %zu has from \"%.*s\", expected \"%s\"",
                        client, sender, static_cast<int>(from.size()), from.data(),
                        ids_[sender].c_str());
    if (from_count != 1)
        violations_.add("client %zu: signal from client %zu has %zu from fields (a forged from "
                        "survived)",
                        client, sender, from_count);
    if (mixed_is_directed(fields.seq)) {
        const std::size_t target = directed_target(sender, fields.seq);
        if (target != client)
            return violations_.add("client %zu: signal %zu/%llu for client %zu reached it instead",
                                   client, sender, static_cast<unsigned long long>(fields.seq),
                                   target);
        if (to != ids_[client])
            violations_.add("client %zu: directed signal %zu/%llu has to \"%.*s\"", client, sender,
                            static_cast<unsigned long long>(fields.seq),
                            static_cast<int>(to.size()), to.data());
    } else if (!to.empty()) {
        violations_.add("client %zu: broadcast signal %zu/%llu has a to", client, sender,
                        static_cast<unsigned long long>(fields.seq));
    }
    if (type != mixed_type_for(fields.seq))
        violations_.add("client %zu: signal %zu/%llu has type \"%.*s\"", client, sender,
                        static_cast<unsigned long long>(fields.seq), static_cast<int>(type.size()),
                        type.data());

    if (options_.self_test_corrupt && !corrupted_once_ && !fields.padding.empty()) {
        // --self-test-corrupt: damage one byte as if the server had, to prove the check sees it.
        corrupted_once_ = true;
        text[static_cast<std::size_t>(fields.padding.data() - text.data())] ^= 0x01;
    }
    if (!payload_intact(data, type, fields))
        violations_.add("client %zu: signal %zu/%llu arrived with data altered", client, sender,
                        static_cast<unsigned long long>(fields.seq));

    std::uint64_t& received = expected_seq_[client * options_.members + sender % options_.members];
    const std::uint64_t expected = next_for(sender, received, client);
    if (fields.seq != expected)
        violations_.add("client %zu: from client %zu got seq %llu, expected %llu (%s)", client,
                        sender, static_cast<unsigned long long>(fields.seq),
                        static_cast<unsigned long long>(expected),
                        fields.seq < expected ? "duplicate or reordered" : "messages lost");
    received = fields.seq + 1;
    ++delivered_total_;
    listener_.on_delivered(sender, fields.seq, fields.sent_ns, clients_[client]->read_time());
}

void Mesh::on_failed(WsClient& client, std::string_view why)
{
    if (!setup_done_)
        return listener_.on_setup_failed(why);
    violations_.add("client %zu: %.*s", client.index(), static_cast<int>(why.size()), why.data());
}

std::uint64_t Mesh::report_losses()
{
    std::uint64_t missing_total = 0;
    for (std::size_t receiver = 0; receiver < options_.clients; ++receiver) {
        const std::size_t first = receiver / options_.members * options_.members;
        for (std::size_t sender = first; sender < first + room_size_of(receiver); ++sender) {
            if (sender == receiver)
                continue;
            const std::uint64_t expected = next_for(
                sender, expected_seq_[receiver * options_.members + sender % options_.members],
                receiver);
            std::uint64_t missing = 0;
            for (std::uint64_t seq = expected; seq < next_seq_[sender]; ++seq)
                missing += reaches(sender, seq, receiver) ? 1 : 0;
            if (missing > 0) {
                missing_total += missing;
                violations_.add("client %zu did not receive %llu signal(s) from client %zu by the "
                                "drain deadline "
                                "(seq %llu onwards)",
                                receiver, static_cast<unsigned long long>(missing), sender,
                                static_cast<unsigned long long>(expected));
            }
        }
    }
    return missing_total;
}

void Mesh::close_all()
{
    for (auto& client : clients_)
        if (client)
            client->abort();
}

} // namespace bench
