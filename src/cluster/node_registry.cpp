#include "signald/cluster/node_registry.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <random>

namespace signald {
namespace {

// Every key signald keeps in Redis starts with this; one cluster per Redis database.
constexpr std::string_view key_prefix = "signald:";

// Redis answers a renewal in well under a millisecond; half a second without an answer is trouble
// (/healthz must say so within 5 s of losing Redis).
constexpr std::chrono::milliseconds slow_answer{500};
// How long input waits for Redis to confirm the lease after a freeze before the node serves on
// as it does without Redis.
constexpr std::chrono::seconds unanswered_limit{2};

// The lease: renews this incarnation's lease, or says it is dead. A first registration (fresh)
// of a node id whose lease another incarnation holds declares that one dead: a node started again
// with the id of a dead one replaces it and takes over nothing. Without fresh, a lease held by
// another incarnation means this one was replaced. A lease that vanished without a death (Redis
// restarted empty, or it lapsed before anyone noticed) is simply taken again.
constexpr std::string_view lease_script = R"lua(
local prefix, id, inc, ttl, fresh, may_lead = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local lease = prefix .. 'lease:' .. id
if redis.call('EXISTS', prefix .. 'dead:' .. id .. ':' .. inc) == 1 then return {'dead', ''} end
local current = redis.call('GET', lease)
if current and current ~= inc then
  if fresh ~= '1' then return {'dead', ''} end
  redis.call('SET', prefix .. 'dead:' .. id .. ':' .. current, 'replaced', 'EX', 86400)
  redis.call('XADD', prefix .. 'events', 'MAXLEN', '~', 10000, '*',
             'event', 'dead', 'node', id, 'incarnation', current, 'by', id)
end
redis.call('SET', lease, inc, 'PX', ttl)
redis.call('HSET', prefix .. 'nodes', id, inc)
-- The leader: kept while its lease stands; a vacancy goes to a node allowed to take it. A vacancy
-- a stopping last node left ('- - id inc') passes its predecessor on, marked 'last'.
local leader = redis.call('GET', prefix .. 'leader')
local last = leader and string.match(leader, '^%- %- (%S+ %S+)$')
if leader then
  local lid, linc = string.match(leader, '^(%S+) (%S+)')
  if not lid or redis.call('GET', prefix .. 'lease:' .. lid) ~= linc then leader = false end
end
if not leader then
  local alone = true
  local nodes = redis.call('HGETALL', prefix .. 'nodes')
  for i = 1, #nodes, 2 do
    if nodes[i] ~= id and redis.call('GET', prefix .. 'lease:' .. nodes[i]) == nodes[i + 1] then
      alone = false
    end
  end
  if may_lead == '1' or (fresh == '1' and alone) then
    leader = id .. ' ' .. inc
    if last then leader = leader .. ' ' .. last .. ' last' end
    redis.call('SET', prefix .. 'leader', leader)
  end
end
return {'ok', leader or ''}
)lua";

// The sweep: every registered node whose lease ran out is declared dead, once, by whichever
// node's sweep gets there first. Returns the number of live nodes, then (id, incarnation) pairs.
constexpr std::string_view sweep_script = R"lua(
local prefix, self = ARGV[1], ARGV[2]
local nodes = redis.call('HGETALL', prefix .. 'nodes')
local result = {0}
for i = 1, #nodes, 2 do
  local id, inc = nodes[i], nodes[i + 1]
  if redis.call('GET', prefix .. 'lease:' .. id) == inc then
    result[1] = result[1] + 1
  elseif id ~= self then
    redis.call('HDEL', prefix .. 'nodes', id)
    redis.call('SET', prefix .. 'dead:' .. id .. ':' .. inc, 'expired', 'EX', 86400)
    redis.call('XADD', prefix .. 'events', 'MAXLEN', '~', 10000, '*',
               'event', 'dead', 'node', id, 'incarnation', inc, 'by', self)
    table.insert(result, id)
    table.insert(result, inc)
  end
end
return result
)lua";

// A leader that stops leaves its rooms in Redis and names a live node its successor, in one step:
// the new leader value says whom it succeeds, so the other nodes follow it instead of starting
// over. With no other node alive the place stays vacant, recording the predecessor; whoever
// leads next takes the rooms (GETDEL, so exactly one does). The rooms keep for ttl: the grace
// period, after which every member in them would have expired anyway.
constexpr std::string_view handover_script = R"lua(
local prefix, id, inc, rooms, ttl = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local leader = redis.call('GET', prefix .. 'leader')
if not leader or string.match(leader, '^(%S+ %S+)') ~= id .. ' ' .. inc then return '' end
redis.call('SET', prefix .. 'rooms', rooms, 'PX', ttl)
local nodes = redis.call('HGETALL', prefix .. 'nodes')
for i = 1, #nodes, 2 do
  if nodes[i] ~= id and redis.call('GET', prefix .. 'lease:' .. nodes[i]) == nodes[i + 1] then
    local successor = nodes[i] .. ' ' .. nodes[i + 1]
    redis.call('SET', prefix .. 'leader', successor .. ' ' .. id .. ' ' .. inc)
    return successor
  end
end
redis.call('SET', prefix .. 'leader', '- - ' .. id .. ' ' .. inc)
return '-'
)lua";

// A clean exit: the lease is given back and the node is dead at once, so no one waits for it.
constexpr std::string_view release_script = R"lua(
local prefix, id, inc = ARGV[1], ARGV[2], ARGV[3]
if redis.call('GET', prefix .. 'lease:' .. id) ~= inc then return 0 end
redis.call('DEL', prefix .. 'lease:' .. id)
redis.call('HDEL', prefix .. 'nodes', id)
redis.call('SET', prefix .. 'dead:' .. id .. ':' .. inc, 'left', 'EX', 86400)
redis.call('XADD', prefix .. 'events', 'MAXLEN', '~', 10000, '*',
           'event', 'dead', 'node', id, 'incarnation', inc, 'by', id)
return 1
)lua";

std::string random_incarnation()
{
    std::random_device device;
    const std::uint64_t value = (std::uint64_t{device()} << 32) | device();
    char text[17];
    std::snprintf(text, sizeof text, "%016" PRIx64, value);
    return text;
}

} // namespace

NodeRegistry::NodeRegistry(net::io_context& ioc, const ClusterOptions& options, Hooks hooks)
    : ioc_(ioc), options_(options), hooks_(std::move(hooks)), node_id_(options.node_id),
      incarnation_(random_incarnation()),
      redis_(ioc, *options.redis, "lease",
             RedisConnection::Hooks{[this] { on_ready(); },
                                    [this](const std::string& why) {
                                        lost_reason_ = "Redis unreachable: " + why;
                                        healthy_since_.reset();
                                        renewal_sent_.reset();
                                    }}),
      timer_(ioc),
      // A quarter of the lease, at most a second: three renewals can fail before it runs out,
      // and a lost Redis shows on /healthz well within 5 s.
      interval_(std::clamp<std::chrono::milliseconds>(
          std::chrono::duration_cast<std::chrono::milliseconds>(options.node_timeout) / 4,
          std::chrono::milliseconds{100}, std::chrono::milliseconds{1000}))
{}

void NodeRegistry::start()
{
    spdlog::info("cluster: node {} (incarnation {}) on {}, node timeout {} s", node_id_,
                 incarnation_, options_.redis->redacted(), options_.node_timeout.count());
    redis_.start();
    schedule();
}

void NodeRegistry::stop(std::function<void()> done)
{
    if (stopped_)
        return;
    stopped_ = true;
    timer_.cancel();
    const std::string prefix(key_prefix);
    // Not ready: the callback runs at once with `disconnected`.
    redis_.command({"EVAL", release_script, "0", prefix, node_id_, incarnation_},
                   [this, done = std::move(done)](RedisReply&& reply) {
                       if (reply.kind == RedisReply::Kind::integer && reply.integer == 1)
                           spdlog::info("cluster: node {} left the cluster", node_id_);
                       redis_.stop();
                       if (done)
                           done();
                   });
}

bool NodeRegistry::must_confirm()
{
    if (lease_valid() || stopped_ || !redis_.ready() || lease_valid_until_ == Clock::time_point{})
        return false;
    if (renewal_sent_ && Clock::now() - *renewal_sent_ > unanswered_limit)
        return false; // Redis is not answering: serve on, as with Redis gone
    heartbeat();
    return true;
}

std::optional<std::string> NodeRegistry::trouble() const
{
    if (!redis_.ready())
        return lost_reason_;
    if (renewal_sent_ && Clock::now() - *renewal_sent_ > slow_answer)
        return "Redis not answering for " +
               std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() -
                                                                                    *renewal_sent_)
                                  .count()) +
               " ms";
    if (!lease_valid())
        return std::string("waiting for Redis to confirm this node's lease");
    return std::nullopt;
}

void NodeRegistry::on_ready()
{
    healthy_since_ = Clock::now();
    renewal_sent_.reset();
    heartbeat(); // at once: after a reconnect the lease may be close to running out
}

void NodeRegistry::schedule()
{
    timer_.expires_after(interval_);
    timer_.async_wait([this](const error_code& ec) {
        if (ec || stopped_)
            return;
        heartbeat();
        sweep();
        schedule();
    });
}

void NodeRegistry::heartbeat()
{
    if (!redis_.ready() || renewal_sent_)
        return;
    const auto sent = Clock::now();
    renewal_sent_ = sent;
    const std::string prefix(key_prefix);
    const std::string ttl = std::to_string(
        std::chrono::duration_cast<std::chrono::milliseconds>(options_.node_timeout).count());
    const bool fresh = lease_valid_until_ == Clock::time_point{};
    // A vacancy goes at once to the last leader (Redis restarted empty: it still holds the rooms)
    // and otherwise only to a node that has reached Redis for a while, so the old leader has had
    // time to come back first. A node that starts alone takes it at once.
    const bool incumbent = is_leader();
    const bool settled = healthy_since_ && sent - *healthy_since_ >= settle_time();
    redis_.command({"EVAL", lease_script, "0", prefix, node_id_, incarnation_, ttl,
                    fresh ? "1" : "0", incumbent || settled ? "1" : "0"},
                   [this, sent](RedisReply&& reply) { on_renewed(std::move(reply), sent); });
}

void NodeRegistry::on_renewed(RedisReply&& reply, Clock::time_point sent)
{
    if (renewal_sent_ == sent)
        renewal_sent_.reset();
    if (stopped_)
        return;
    if (!reply.ok()) {
        if (reply.kind == RedisReply::Kind::error)
            spdlog::error("cluster: lease renewal failed: {}", reply.text);
        return;
    }
    stats_.round_trip = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - sent);
    if (reply.kind != RedisReply::Kind::array || reply.elements.size() != 2)
        return;
    if (reply.elements[0].text == "dead") {
        ++stats_.fenced;
        spdlog::warn("cluster: node {} incarnation {} was declared dead while it could not renew "
                     "its lease; closing its clients and starting again as a new incarnation",
                     node_id_, incarnation_);
        if (hooks_.fenced)
            hooks_.fenced();
        new_incarnation();
        heartbeat();
        return;
    }
    // The lease runs from when Redis renewed it, after `sent`: counting from `sent`, less a
    // tenth for clocks that drift apart, this node's view always ends before the others'.
    lease_valid_until_ = sent + options_.node_timeout - options_.node_timeout / 10;
    if (hooks_.renewed)
        hooks_.renewed();
    set_leader(reply.elements[1].text);
}

void NodeRegistry::set_leader(const std::string& value)
{
    // "id incarnation", then "id incarnation" of the leader it succeeds after a hand-over.
    std::string leader = value;
    std::string predecessor;
    bool was_last = false;
    const auto first = value.find(' ');
    const auto second = first == std::string::npos ? first : value.find(' ', first + 1);
    if (second != std::string::npos) {
        leader = value.substr(0, second);
        predecessor = value.substr(second + 1);
        if (predecessor.ends_with(" last")) {
            predecessor.resize(predecessor.size() - 5);
            was_last = true;
        }
    }
    if (leader == "- -")
        leader.clear(); // vacant after a hand-over with no successor
    if (leader == leader_)
        return;
    spdlog::info("cluster: the leader is {}{}", leader.empty() ? "nobody yet" : leader,
                 predecessor.empty() ? "" : ", taking over from " + predecessor);
    leader_ = leader;
    predecessor_ = predecessor;
    predecessor_was_last_ = was_last;
    if (hooks_.leader_changed)
        hooks_.leader_changed();
}

void NodeRegistry::hand_over(std::string rooms, std::chrono::milliseconds keep,
                             std::function<void(std::string successor)> done)
{
    const std::string prefix(key_prefix);
    redis_.command({"EVAL", handover_script, "0", prefix, node_id_, incarnation_, rooms,
                    std::to_string(std::max<long long>(keep.count(), 1000))},
                   [this, done = std::move(done)](RedisReply&& reply) {
                       // Not while this registry is destroyed with the reply pending: its
                       // caller is gone too.
                       if (!destroying_)
                           done(reply.kind == RedisReply::Kind::string ? reply.text
                                                                       : std::string{});
                   });
}

void NodeRegistry::live_nodes(std::function<void(std::vector<std::string> nodes)> done)
{
    static constexpr std::string_view live_script = R"lua(
local prefix = ARGV[1]
local nodes = redis.call('HGETALL', prefix .. 'nodes')
local live = {}
for i = 1, #nodes, 2 do
  if redis.call('GET', prefix .. 'lease:' .. nodes[i]) == nodes[i + 1] then
    table.insert(live, nodes[i] .. ' ' .. nodes[i + 1])
  end
end
return live
)lua";
    const std::string prefix(key_prefix);
    redis_.command({"EVAL", live_script, "0", prefix},
                   [this, done = std::move(done)](RedisReply&& reply) {
                       if (destroying_)
                           return;
                       std::vector<std::string> nodes;
                       for (RedisReply& node : reply.elements)
                           nodes.push_back(std::move(node.text));
                       done(std::move(nodes));
                   });
}

void NodeRegistry::save_rooms(std::string rooms, std::chrono::milliseconds keep)
{
    const std::string key = std::string(key_prefix) + "rooms";
    redis_.command(
        {"SET", key, rooms, "PX", std::to_string(std::max<long long>(keep.count(), 1000))},
        [](RedisReply&&) {});
}

void NodeRegistry::take_rooms(std::function<void(std::optional<std::string> rooms)> done)
{
    const std::string key = std::string(key_prefix) + "rooms";
    redis_.command({"GETDEL", key}, [this, done = std::move(done)](RedisReply&& reply) {
        if (destroying_)
            return;
        if (reply.kind == RedisReply::Kind::string)
            done(std::move(reply.text));
        else
            done(std::nullopt);
    });
}

std::chrono::milliseconds NodeRegistry::settle_time() const
{
    // Long enough for every node to reconnect after Redis restarts (its backoff tops at 2 s).
    return std::min<std::chrono::milliseconds>(options_.node_timeout, std::chrono::seconds{3});
}

NodeRegistry::~NodeRegistry()
{
    destroying_ = true;
    stopped_ = true;
    redis_.stop(); // pending callbacks run now, while every member is still alive
}

void NodeRegistry::new_incarnation()
{
    incarnation_ = random_incarnation();
    lease_valid_until_ = {};
    set_leader({});
    spdlog::info("cluster: node {} is now incarnation {}", node_id_, incarnation_);
}

void NodeRegistry::sweep()
{
    // Only a node that has reached Redis for a whole lease judges the others: after its own
    // outage, their renewals may not have had a chance to land yet.
    if (!redis_.ready() || !healthy_since_ ||
        Clock::now() - *healthy_since_ <
            std::chrono::duration_cast<Clock::duration>(options_.node_timeout) ||
        !lease_valid())
        return;
    const std::string prefix(key_prefix);
    redis_.command({"EVAL", sweep_script, "0", prefix, node_id_},
                   [this](RedisReply&& reply) { on_swept(std::move(reply)); });
}

void NodeRegistry::on_swept(RedisReply&& reply)
{
    if (reply.kind != RedisReply::Kind::array || reply.elements.empty())
        return;
    stats_.nodes_alive = static_cast<std::size_t>(std::max(0LL, reply.elements[0].integer));
    for (std::size_t i = 1; i + 1 < reply.elements.size(); i += 2) {
        const std::string& node = reply.elements[i].text;
        const std::string& incarnation = reply.elements[i + 1].text;
        ++stats_.deaths_declared;
        spdlog::warn("cluster: node {} (incarnation {}) declared dead: its lease ran out", node,
                     incarnation);
        if (hooks_.declared_dead)
            hooks_.declared_dead(node, incarnation);
    }
}

} // namespace signald
