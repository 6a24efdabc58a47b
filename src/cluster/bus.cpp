#include "signald/cluster/bus.hpp"

#include "signald/cluster/node_registry.hpp"

#include <spdlog/spdlog.h>

#include <cstdlib>
#include <set>
#include <memory>

namespace signald {
namespace {

constexpr std::string_view key_prefix = "signald:";
// 1 s: XREAD returns at least this often, so a stop or a new inbox is noticed.
constexpr std::string_view block_ms = "1000";
// ~100,000 batches per inbox: minutes of the busiest traffic; a reader that far behind is gone.
constexpr std::string_view inbox_max_entries = "100000";

// Appends a batch to the receiver's inbox, unless the sender was declared dead (its lease is not
// its own any more: it must relay nothing) or the receiver is (its inbox would only grow). An
// inbox expires a day after its last entry, so a dead node's is not kept for ever. Each batch
// carries its number in the sender's sequence for that receiver, and the numbers of earlier ones
// the sender knows Redis refused, so a batch Redis lost after taking it (it restarted empty
// before the receiver read it) shows as a gap instead of vanishing silently.
constexpr std::string_view send_script = R"lua(
local prefix, from_id, from_inc, to_id, to_inc, batch, maxlen, seq, refused =
  ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9]
if redis.call('GET', prefix .. 'lease:' .. from_id) ~= from_inc then return 'fenced' end
if redis.call('GET', prefix .. 'lease:' .. to_id) ~= to_inc then return 'gone' end
local inbox = prefix .. 'inbox:' .. to_id .. ':' .. to_inc
redis.call('XADD', inbox, 'MAXLEN', '~', maxlen, '*', 'from', from_id .. ' ' .. from_inc,
           'n', seq, 'k', refused, 'b', batch)
redis.call('EXPIRE', inbox, 86400)
return 'ok'
)lua";

// "id incarnation" split in two.
std::pair<std::string, std::string> split_node(const std::string& node)
{
    const auto space = node.find(' ');
    if (space == std::string::npos)
        return {node, {}};
    return {node.substr(0, space), node.substr(space + 1)};
}

const RedisReply* field(const RedisReply& fields, std::string_view name)
{
    for (std::size_t i = 0; i + 1 < fields.elements.size(); i += 2)
        if (fields.elements[i].text == name)
            return &fields.elements[i + 1];
    return nullptr;
}

} // namespace

Bus::Bus(net::io_context& ioc, const ClusterOptions& options, const NodeRegistry& registry,
         Hooks hooks)
    : ioc_(ioc), registry_(registry), hooks_(std::move(hooks)),
      writer_(ioc, *options.redis, "bus-out",
              RedisConnection::Hooks{[this] { on_ready(); }, [](const std::string&) {}}),
      reader_(ioc, *options.redis, "bus-in",
              RedisConnection::Hooks{[this] { on_ready(); }, [](const std::string&) {}})
{}

Bus::~Bus()
{
    stopped_ = true;
    reader_.stop();
    writer_.stop();
}

void Bus::start()
{
    stopped_ = false;
    restart_inbox();
    writer_.start();
    reader_.start();
}

void Bus::stop()
{
    stopped_ = true;
    reader_.stop();
    writer_.stop();
}

void Bus::drain(std::function<void()> done)
{
    flush();
    // Replies come in command order: when the PING's does, every batch before it was taken.
    writer_.command({"PING"}, [done = std::move(done)](RedisReply&&) { done(); });
}

void Bus::announce_pause()
{
    const std::string events = std::string(key_prefix) + "events";
    writer_.command({"XADD", events, "MAXLEN", "~", "10000", "*", "event", "pause", "node",
                     registry_.node_id(), "incarnation", registry_.incarnation()},
                    [](RedisReply&&) {});
}

void Bus::restart_inbox()
{
    inbox_ =
        std::string(key_prefix) + "inbox:" + registry_.node_id() + ":" + registry_.incarnation();
    inbox_last_ = "0";
    received_.clear(); // every sender numbers a new inbox's batches from 1
}

void Bus::on_ready()
{
    if (!ready())
        return;
    if (was_ready_ && hooks_.ready)
        hooks_.ready();
    was_ready_ = true;
    read();
}

void Bus::send(const std::string& to, BusKind kind, std::string_view id, std::uint64_t number,
               std::string_view text)
{
    append_message(pending_[to], kind, id, number, text);
    ++stats_.messages_out;
    if (!flush_posted_) {
        flush_posted_ = true;
        net::post(ioc_, [this] { flush(); });
    }
}

void Bus::flush()
{
    flush_posted_ = false;
    const std::string prefix(key_prefix);
    for (auto& [to, pending] : pending_) {
        const auto [to_id, to_incarnation] = split_node(to);
        // Kept for the callback, which may have to say what was lost; hiredis copies the
        // arguments during the call.
        const auto batch = std::make_shared<const std::string>(std::move(pending));
        stats_.bytes_out += batch->size();
        const std::uint64_t number = ++sequence_[to];
        std::set<std::uint64_t>& refused = refused_[to];
        std::string refused_text;
        for (const std::uint64_t n : refused) {
            if (!refused_text.empty())
                refused_text += ',';
            refused_text += std::to_string(n);
        }
        writer_.command(
            {"EVAL", send_script, "0", prefix, registry_.node_id(), registry_.incarnation(), to_id,
             to_incarnation, *batch, inbox_max_entries, std::to_string(number), refused_text},
            [this, to = to, batch, number, told = refused,
             sent = std::chrono::steady_clock::now()](RedisReply&& reply) {
                std::set<std::uint64_t>& still_refused = refused_[to];
                if (reply.ok() && reply.text == "ok") {
                    stats_.round_trip = std::chrono::duration_cast<std::chrono::microseconds>(
                        std::chrono::steady_clock::now() - sent);
                    for (const std::uint64_t n : told)
                        still_refused.erase(n); // the receiver knows of these now
                    return;
                }
                ++stats_.batches_lost;
                // Past a few thousand the receiver may as well see a gap.
                if (still_refused.size() < 4096)
                    still_refused.insert(number);
                if (reply.kind == RedisReply::Kind::error)
                    spdlog::error("cluster: sending on the bus failed: {}", reply.text);
                if (!stopped_ && hooks_.lost)
                    hooks_.lost(to, *batch);
            });
    }
    pending_.clear();
}

void Bus::read()
{
    if (reading_ || stopped_ || !reader_.ready())
        return;
    reading_ = true;
    const std::string events = std::string(key_prefix) + "events";
    if (events_last_.empty()) {
        // Deaths from now on; the stream's history is for nobody.
        reader_.command({"XREVRANGE", events, "+", "-", "COUNT", "1"}, [this](RedisReply&& reply) {
            reading_ = false;
            if (!reply.ok())
                return;
            events_last_ = reply.elements.empty() || reply.elements[0].elements.empty()
                               ? "0"
                               : reply.elements[0].elements[0].text;
            read();
        });
        return;
    }
    reader_.command({"XREAD", "COUNT", "256", "BLOCK", block_ms, "STREAMS", inbox_, events,
                     inbox_last_, events_last_},
                    [this](RedisReply&& reply) { on_read(std::move(reply)); });
}

void Bus::on_read(RedisReply&& reply)
{
    reading_ = false;
    if (stopped_)
        return;
    if (!reply.ok()) {
        // The connection broke: on_ready reads again. An error here is a bug worth seeing.
        if (reply.kind == RedisReply::Kind::error)
            spdlog::error("cluster: reading the bus failed: {}", reply.text);
        return;
    }
    const std::string events = std::string(key_prefix) + "events";
    for (const RedisReply& stream : reply.elements) {
        if (stream.elements.size() != 2)
            continue;
        const bool is_events = stream.elements[0].text == events;
        if (!is_events && stream.elements[0].text != inbox_)
            continue; // an old inbox's entries, read before a restart_inbox
        for (const RedisReply& entry : stream.elements[1].elements) {
            if (entry.elements.size() != 2)
                continue;
            (is_events ? events_last_ : inbox_last_) = entry.elements[0].text;
            const RedisReply& fields = entry.elements[1];
            if (is_events) {
                const RedisReply* event = field(fields, "event");
                const RedisReply* node = field(fields, "node");
                const RedisReply* incarnation = field(fields, "incarnation");
                if (!event || !node || !incarnation)
                    continue;
                const std::string who = node->text + " " + incarnation->text;
                if (event->text == "dead" && hooks_.node_dead)
                    hooks_.node_dead(who);
                else if (event->text == "pause" && hooks_.paused_by)
                    hooks_.paused_by(who);
                continue;
            }
            const RedisReply* from = field(fields, "from");
            const RedisReply* batch = field(fields, "b");
            const RedisReply* number = field(fields, "n");
            if (!from || !batch || !number)
                continue;
            // Every batch of that sender's sequence since the last one arrived, or the sender
            // knew Redis refused it; anything else was lost.
            const std::uint64_t n = std::strtoull(number->text.c_str(), nullptr, 10);
            const auto last = received_[from->text];
            received_[from->text] = n;
            bool missing = false;
            if (last != 0 && n > last + 1) {
                const RedisReply* refused = field(fields, "k");
                std::set<std::uint64_t> known;
                for (std::size_t start = 0; refused && start < refused->text.size();) {
                    const std::size_t comma =
                        std::min(refused->text.find(',', start), refused->text.size());
                    known.insert(std::strtoull(refused->text.c_str() + start, nullptr, 10));
                    start = comma + 1;
                }
                for (std::uint64_t m = last + 1; m < n && !missing; ++m)
                    missing = !known.contains(m) || n - last > 100000;
            }
            if (last != 0 && (missing || n <= last)) {
                ++stats_.gaps;
                spdlog::warn("cluster: batches {} to {} from {} were lost", last + 1, n - 1,
                             from->text);
                if (hooks_.gap)
                    hooks_.gap(from->text);
            }
            auto messages = decode_batch(batch->text);
            if (!messages) {
                spdlog::error("cluster: dropped a malformed batch from {}", from->text);
                continue;
            }
            stats_.bytes_in += batch->text.size();
            stats_.messages_in += messages->size();
            if (hooks_.received)
                hooks_.received(from->text, std::move(*messages));
        }
    }
    read();
}

} // namespace signald
