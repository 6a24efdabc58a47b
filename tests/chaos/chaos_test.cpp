// Chaos: about 1,000 WebSocket clients against the real binary, each an asynchronous state
// machine, all on one io_context and one thread. They join random rooms (50 ids), switch rooms,
// signal (broadcast and directed, bursts included), leave, close cleanly, drop the TCP connection
// without a close frame (RST or FIN), abort handshakes, break a rule so that the server closes
// them (1003, 1007, 1009), send a request and die right behind it, and reconnect as new clients.
// Choices come from a printed seed (SIGNALD_CHAOS_SEED replays one; timing still varies).
//
// Every check is exact rather than statistical. Each client keeps its own view of its room from
// its own message stream (joined.peers, peer-joined, peer-left, left), and section 9 of
// docs/protocol.md makes that stream self-consistent: one FIFO per receiver, peer-joined before
// the newcomer's signals, nothing about a room after left, no signal from a peer after its
// peer-left. So, at the moment each message is read:
//   - a signal comes from a member of the receiver's current view, in the receiver's room, with
//     `from` equal to the sender's id carried inside `data`, with a sequence number above the last
//     one seen from that sender (no duplicates, per-sender FIFO), and `to` only when directed;
//   - peer-joined names someone not in the view and peer-left someone in it (so never two
//     peer-left for one departure); left and joined only answer a request the client made;
//   - the only error ever expected is unknown-peer for a signal (the target left meanwhile): a
//     client sends a join or leave only when none of its own is outstanding, so its idea of its
//     own room is the server's.
// Then, with nothing moving, one fresh probe per room reads the server's member list from its
// joined.peers. It must equal the set of clients that believe they are in that room and each such
// member's view, and each member must have had exactly one peer-left for every departed peer it
// saw during its current membership. A last round of signals, sent while nothing else moves, must
// arrive exactly once everywhere. /metrics must agree with the clients, show no rejection, and
// drop to zero connections, sessions, rooms and members once everyone has gone. The server's RSS
// must come back near its level after a warm-up run of the same size, and the server must exit
// cleanly with no sanitizer report.

#include "http_client.hpp"
#include "signald_process.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <csignal>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include <sys/resource.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define SIGNALD_CHAOS_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SIGNALD_CHAOS_ASAN 1
#endif
#endif
#ifndef SIGNALD_CHAOS_ASAN
#define SIGNALD_CHAOS_ASAN 0
#endif

namespace signald::test {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr std::uint64_t default_seed = 20240917;
constexpr int room_pool = 50;
// 1,000 live clients from one address, 20 per room on average: well inside these limits, so a
// refusal can only be a bug. Rate limits are off so the driver, not the server, sets the pace.
// Logging at warn: info would log every join and close, costing the server more than the chaos.
std::vector<std::string> server_extra_args()
{
    std::vector<std::string> args{"--max-connections-per-ip", "5000", "--max-connections", "20000"};
    args.insert(args.end(), {"--rate-msgs", "0", "--rate-bytes", "0", "--max-room-size", "1000"});
    // The smallest allowed: an oversized message (close 1009) costs the driver only 64 KiB.
    args.insert(args.end(), {"--max-message-bytes", "65536", "--log-level", "warn"});
    return args;
}

constexpr std::array<const char*, 4> signal_types{"offer", "answer", "ice-candidate", "hangup"};

// A client whose request gets no answer, or whose close handshake does not finish, within this is
// a server that has lost track of it. Generous: the ASan build under full load is slow.
constexpr auto request_deadline = 15s;
constexpr auto close_deadline = 15s;
// Phase 1 pauses while more requests than this await answers: about 0.3 s of requests at the
// normal build's pace, and it keeps the ASan build's backlog within a few seconds.
constexpr std::size_t max_pending_requests = 100;

std::uint64_t seed_from_environment()
{
    if (const char* text = std::getenv("SIGNALD_CHAOS_SEED"); text != nullptr && *text != '\0')
        return std::strtoull(text, nullptr, 10);
    return default_seed;
}

void raise_descriptor_limit()
{
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &limit);
    }
}

double ms_since(Clock::time_point start)
{
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// Resident and peak resident memory of a process, in KiB, from /proc/<pid>/status.
struct Memory
{
    long rss_kib = 0;
    long hwm_kib = 0;
};

Memory memory_of(pid_t pid)
{
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    Memory memory;
    std::string line;
    while (std::getline(status, line)) {
        if (line.starts_with("VmRSS:"))
            memory.rss_kib = std::strtol(line.c_str() + 6, nullptr, 10);
        else if (line.starts_with("VmHWM:"))
            memory.hwm_kib = std::strtol(line.c_str() + 6, nullptr, 10);
    }
    return memory;
}

// CPU time (user + system) a process has used so far, in seconds, from /proc/<pid>/stat.
double cpu_seconds_of(pid_t pid)
{
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    // Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
    std::istringstream fields(text.substr(text.rfind(')') + 2));
    std::string field;
    double ticks = 0;
    for (int index = 3; index <= 15 && fields >> field; ++index)
        if (index >= 14)
            ticks += std::strtod(field.c_str(), nullptr);
    return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

double mib(long kib)
{
    return static_cast<double>(kib) / 1024.0;
}

// The unlabelled samples of /metrics (and labelled ones under their full name).
std::map<std::string, double> fetch_metrics(std::uint16_t port)
{
    std::map<std::string, double> samples;
    const auto response = http_request(port, "GET", "/metrics");
    std::istringstream body(response.body());
    std::string line;
    while (std::getline(body, line)) {
        if (line.empty() || line[0] == '#')
            continue;
        const auto space = line.rfind(' ');
        if (space != std::string::npos)
            samples[line.substr(0, space)] = std::strtod(line.c_str() + space + 1, nullptr);
    }
    return samples;
}

struct Gauges
{
    long connections = -1;
    long sessions = -1;
    long rooms = -1;
    long members = -1;

    bool operator==(const Gauges&) const = default;
    std::string describe() const
    {
        return "connections " + std::to_string(connections) + ", sessions " +
               std::to_string(sessions) + ", rooms " + std::to_string(rooms) + ", members " +
               std::to_string(members);
    }
};

Gauges gauges_of(const std::map<std::string, double>& samples)
{
    auto get = [&](const char* name) {
        const auto found = samples.find(name);
        return found == samples.end() ? -1L : static_cast<long>(found->second);
    };
    return {get("signald_connections"), get("signald_sessions"), get("signald_rooms"),
            get("signald_members")};
}

// One cycle's shape. The warm-up and the chaos run differ only in these numbers.
struct CycleSettings
{
    const char* name;
    std::size_t clients;                // kept live during phase 1
    std::chrono::milliseconds duration; // phase 1 ends at this or at op_budget, whichever first
    std::size_t op_budget;
    double ops_per_second;
};

struct Stats
{
    std::size_t connections_opened = 0;
    std::size_t peak_live = 0;
    std::size_t ops = 0;
    std::size_t broadcasts = 0;
    std::size_t directed = 0;
    std::size_t bursts = 0;
    std::size_t joins = 0;
    std::size_t switches = 0;
    std::size_t leaves = 0;
    std::size_t clean_closes = 0;
    std::size_t drops_rst = 0;
    std::size_t drops_fin = 0;
    std::size_t send_then_die = 0;
    std::size_t handshake_aborts = 0;
    std::size_t server_closes = 0;
    std::size_t server_close_codes_seen = 0;
    std::size_t frames_sent = 0;
    std::size_t frames_received = 0;
    std::size_t signals_delivered = 0;
    std::size_t peer_joined = 0;
    std::size_t peer_left = 0;
    std::size_t unknown_peer = 0;
    std::size_t peer_left_exact_checks = 0;
    std::size_t view_checks = 0;
    std::size_t final_signals = 0;
    double max_request_ms = 0; // since the last phase took it
    double ramp_ms = 0;
    double chaos_max_request_ms = 0;
    double ramp_max_request_ms = 0;
    double phase1_ms = 0;
    double throttled_ms = 0;
};

struct Client
{
    enum class State
    {
        connecting,
        open,
        closing, // a clean close was asked for: waits for the outbox, then the close handshake
        dead,
    };
    enum class Pending
    {
        none,
        join,
        leave,
    };
    enum class Then
    {
        nothing,
        close,
        drop,
    };

    Client(net::io_context& ioc, std::size_t serial_number, bool is_probe)
        : ws(ioc), close_timer(ioc), serial(serial_number), probe(is_probe)
    {}

    websocket::stream<beast::tcp_stream> ws;
    beast::flat_buffer buffer;
    std::deque<std::string> outbox; // front() is being written while writing
    bool writing = false;
    net::steady_timer close_timer;
    State state = State::connecting;
    Then after_flush = Then::nothing; // what to do once the outbox is empty
    bool drop_with_rst = true;
    std::uint16_t expected_close_code = 0; // after misbehaving: the server must close with this
    bool abort_handshake = false;

    std::size_t serial;
    bool probe;
    std::string id;                  // known from the first joined
    std::optional<std::string> room; // as the server last said
    std::vector<std::string> view;   // the other members of room, as the server told us
    Pending pending = Pending::none;
    std::string pending_room;
    Clock::time_point pending_since;
    std::string probe_room;            // a probe joins exactly this room
    std::vector<std::string> snapshot; // a probe's joined.peers: the server's member list

    std::uint64_t next_seq = 1;
    std::unordered_map<std::string, std::uint64_t> last_seq; // per sender, across rooms
    // This membership: for each peer ever in view, how often it was added and removed.
    std::unordered_map<std::string, std::pair<int, int>> episode;
    std::size_t final_expected = 0;
    std::size_t final_received = 0;
    std::deque<std::string> trail; // last state changes, for reports

    bool ready() const
    {
        return state == State::open && pending == Pending::none && outbox.empty() && !writing;
    }
    bool in_view(const std::string& peer) const
    {
        return std::find(view.begin(), view.end(), peer) != view.end();
    }
    void note(std::string event)
    {
        if (trail.size() == 12)
            trail.pop_front();
        trail.push_back(std::move(event));
    }
    std::string describe() const
    {
        std::string text = "client #" + std::to_string(serial) + (probe ? " (probe)" : "") +
                           " id=" + (id.empty() ? "?" : id) + " room=" + room.value_or("-") +
                           " trail:";
        for (const auto& event : trail)
            text += " [" + event + "]";
        return text;
    }
};

using ClientPtr = std::shared_ptr<Client>;

class Driver
{
public:
    Driver(SignaldProcess& server, CycleSettings settings, std::uint64_t seed)
        : server_(server), settings_(settings), rng_(seed),
          endpoint_(net::ip::make_address("127.0.0.1"), server.port())
    {
        for (int i = 0; i < room_pool; ++i)
            rooms_.push_back("chaos-" + std::to_string(i));
    }

    ~Driver() { abort_everything(); }

    Driver(const Driver&) = delete;
    Driver& operator=(const Driver&) = delete;

    // Phase 0: everyone connects and most join a room; returns once all are settled.
    void ramp_up()
    {
        const auto start = Clock::now();
        replenish_ = true;
        for (std::size_t i = 0; i < settings_.clients; ++i)
            start_client(false);
        if (!run_until([&] { return !busy(); }, Clock::now() + 30s))
            problem("ramp-up", "clients still connecting or joining after 30 s: " + busy_report());
        stats_.ramp_ms = ms_since(start);
        stats_.ramp_max_request_ms = std::exchange(stats_.max_request_ms, 0.0);
    }

    // Phase 1: random operations until the time or the operation budget runs out.
    void chaos(Memory& peak)
    {
        const auto start = Clock::now();
        const auto end = start + settings_.duration;
        auto next_sample = start;
        std::optional<Clock::time_point> throttled_since;
        while (Clock::now() < end && stats_.ops < settings_.op_budget) {
            run_for(1ms);
            if (Clock::now() >= next_sample) {
                const Memory now = memory_of(server_.pid());
                peak.rss_kib = std::max(peak.rss_kib, now.rss_kib);
                next_sample += 250ms;
                expire_requests();
            }
            // Back-pressure: both ends are single-threaded and may be slow (ASan, a busy
            // machine). Stop adding work while many requests wait for answers, so the backlog
            // stays around a second and every deadline stays meaningful.
            if (pending_count_ > max_pending_requests) {
                if (!throttled_since)
                    throttled_since = Clock::now();
                continue;
            }
            if (throttled_since)
                stats_.throttled_ms += ms_since(*std::exchange(throttled_since, std::nullopt));
            const auto allowed =
                static_cast<std::size_t>(settings_.ops_per_second * ms_since(start) / 1000.0);
            for (int n = 0; n < 64 && stats_.ops < allowed && stats_.ops < settings_.op_budget; ++n)
                random_op();
        }
        stats_.phase1_ms = ms_since(start);
        stats_.chaos_max_request_ms = std::exchange(stats_.max_request_ms, 0.0);
        replenish_ = false;
    }

    // Phase 2: nothing moves; compare every view with the server's own member lists.
    void verify_quiescent()
    {
        if (!wait_quiet(1s, Clock::now() + 30s)) {
            problem("quiescence", "activity did not settle within 30 s: " + busy_report());
            return;
        }
        expect_metrics_match_beliefs("before probes");

        // One probe per room id, including rooms nobody believes they are in (ghosts show there).
        for (const auto& room : rooms_)
            start_client(true, room);
        const auto probes_deadline = Clock::now() + 20s;
        if (!run_until([&] { return probes_joined() == rooms_.size(); }, probes_deadline) ||
            !wait_quiet(500ms, probes_deadline + 10s)) {
            problem("probes", "probes did not all join within 20 s: " + busy_report());
            return;
        }
        compare_views_with_server();
        final_exchange();
        expect_metrics_match_beliefs("after probes");
    }

    // Phase 3: everyone goes, half cleanly and half abruptly; the server must forget them all.
    void close_everyone()
    {
        std::vector<ClientPtr> everyone = live_;
        for (std::size_t i = 0; i < everyone.size(); ++i) {
            if (i % 2 == 0)
                close_clean(everyone[i]);
            else
                drop(everyone[i], i % 4 == 1);
        }
        if (!run_until([&] { return closing_.empty(); }, Clock::now() + close_deadline))
            problem("close", std::to_string(closing_.size()) +
                                 " clean closes did not finish within the deadline");
        Gauges last;
        const bool zero = poll_metrics(
            [&](const Gauges& g) {
                last = g;
                return g == Gauges{0, 0, 0, 0};
            },
            Clock::now() + 10s);
        if (!zero)
            problem("leak",
                    "10 s after every client went, /metrics still shows " + last.describe());
        expect_no_rejections();
    }

    // Every problem seen, as test failures, grouped by kind with a few examples each.
    void report_problems() const
    {
        for (const auto& [kind, found] : problems_) {
            std::string examples;
            for (const auto& example : found.examples)
                examples += "\n    " + example;
            ADD_FAILURE() << settings_.name << ": " << found.count << " x " << kind << examples;
        }
    }

    void print_summary() const
    {
        const Stats& s = stats_;
        std::printf(
            "[chaos] %s: %zu clients opened (peak %zu live), %zu ops in %.1f s: %zu broadcasts, "
            "%zu directed, %zu bursts, %zu joins (%zu switches), %zu leaves, %zu clean closes, "
            "%zu RST drops, %zu FIN drops, %zu send-then-die, %zu handshake aborts, %zu "
            "closed by the server (1003/1007/1009; %zu with the code seen)\n"
            "[chaos] %s: frames sent %zu, received %zu, signals delivered %zu, peer-joined %zu, "
            "peer-left %zu, unknown-peer %zu\n"
            "[chaos] %s: ramp-up %.1f s (slowest join %.0f ms), phase 1 slowest request %.0f ms, "
            "throttled %.1f s\n"
            "[chaos] %s: checks: %zu member views compared with the server, %zu peer-left "
            "exactly-once, %zu final-exchange signals delivered\n",
            settings_.name, s.connections_opened, s.peak_live, s.ops, s.phase1_ms / 1000.0,
            s.broadcasts, s.directed, s.bursts, s.joins, s.switches, s.leaves, s.clean_closes,
            s.drops_rst, s.drops_fin, s.send_then_die, s.handshake_aborts, s.server_closes,
            s.server_close_codes_seen, settings_.name, s.frames_sent, s.frames_received,
            s.signals_delivered, s.peer_joined, s.peer_left, s.unknown_peer, settings_.name,
            s.ramp_ms / 1000.0, s.ramp_max_request_ms, s.chaos_max_request_ms,
            s.throttled_ms / 1000.0, settings_.name, s.view_checks, s.peer_left_exact_checks,
            s.final_signals);
        std::fflush(stdout);
    }

private:
    struct Problem
    {
        std::size_t count = 0;
        std::vector<std::string> examples;
    };

    // ---- randomness ----

    std::size_t pick(std::size_t n) { return static_cast<std::size_t>(rng_() % n); }
    const std::string& random_room() { return rooms_[pick(rooms_.size())]; }
    const std::string& other_room(const std::optional<std::string>& current)
    {
        for (;;) {
            const std::string& room = random_room();
            if (!current || room != *current)
                return room;
        }
    }

    // ---- the event loop ----

    void run_for(std::chrono::milliseconds duration)
    {
        if (ioc_.stopped())
            ioc_.restart();
        ioc_.run_for(duration);
    }

    template <class Done>
    bool run_until(Done done, Clock::time_point deadline)
    {
        while (!done()) {
            if (Clock::now() >= deadline)
                return false;
            run_for(5ms);
        }
        return true;
    }

    // A join or leave unanswered for request_deadline is a failure; forgetting it keeps one lost
    // reply from stalling the whole run behind back-pressure.
    void expire_requests()
    {
        const auto now = Clock::now();
        for (const auto& c : live_)
            if (c->pending != Client::Pending::none && now - c->pending_since > request_deadline) {
                problem("no-reply", "request unanswered for " +
                                        std::to_string(request_deadline.count()) + " s " +
                                        c->describe());
                c->pending = Client::Pending::none;
                --pending_count_;
            }
    }

    bool busy() const
    {
        if (!closing_.empty() || connecting_ > 0 || pending_count_ > 0)
            return true;
        return std::any_of(live_.begin(), live_.end(),
                           [](const ClientPtr& c) { return c->writing || !c->outbox.empty(); });
    }

    std::string busy_report() const
    {
        std::size_t writing = 0;
        for (const auto& c : live_)
            writing += c->writing || !c->outbox.empty() ? 1 : 0;
        return std::to_string(connecting_) + " connecting, " + std::to_string(pending_count_) +
               " requests unanswered, " + std::to_string(closing_.size()) + " closing, " +
               std::to_string(writing) + " writing";
    }

    // Quiet: nothing of ours in flight and no message for quiet_for.
    bool wait_quiet(Clock::duration quiet_for, Clock::time_point deadline)
    {
        return run_until(
            [&] {
                expire_requests();
                return !busy() && Clock::now() - last_activity_ >= quiet_for;
            },
            deadline);
    }

    template <class Accept>
    bool poll_metrics(Accept accept, Clock::time_point deadline)
    {
        for (;;) {
            try {
                if (accept(gauges_of(fetch_metrics(server_.port()))))
                    return true;
            } catch (const std::exception& e) {
                problem("metrics", std::string("GET /metrics failed: ") + e.what());
                return false;
            }
            if (Clock::now() >= deadline)
                return false;
            run_for(50ms);
        }
    }

    void problem(const std::string& kind, std::string detail)
    {
        auto& found = problems_[kind];
        ++found.count;
        if (found.examples.size() < 4)
            found.examples.push_back(std::move(detail));
    }

    // ---- connection lifecycle ----

    void start_client(bool probe, const std::string& probe_room = {})
    {
        auto c = std::make_shared<Client>(ioc_, next_serial_++, probe);
        c->probe_room = probe_room;
        c->abort_handshake = !probe && replenish_ && pick(100) < 2;
        live_.push_back(c);
        ++connecting_;
        ++stats_.connections_opened;
        stats_.peak_live = std::max(stats_.peak_live, live_.size());
        auto& stream = beast::get_lowest_layer(c->ws);
        stream.expires_after(10s);
        stream.async_connect(endpoint_, [this, c](error_code ec) { on_connect(c, ec); });
    }

    void on_connect(const ClientPtr& c, error_code ec)
    {
        if (c->state == Client::State::dead)
            return;
        if (ec) {
            --connecting_;
            c->state = Client::State::dead;
            problem("connect", "TCP connect failed: " + ec.message());
            return remove_live(c);
        }
        beast::get_lowest_layer(c->ws).expires_never();
        // As browsers do: small frames go out at once instead of waiting for an ACK.
        beast::get_lowest_layer(c->ws).socket().set_option(tcp::no_delay(true), ec);
        auto timeouts = websocket::stream_base::timeout::suggested(beast::role_type::client);
        timeouts.handshake_timeout = 15s;
        c->ws.set_option(timeouts);
        c->ws.text(true);
        c->ws.async_handshake("127.0.0.1:" + std::to_string(server_.port()), "/ws",
                              [this, c](error_code e) { on_handshake(c, e); });
        if (c->abort_handshake) {
            // Cut the connection while the upgrade is in flight: the server may have read none,
            // part or all of it, and must clean up whichever.
            ++stats_.handshake_aborts;
            --connecting_;
            kill_socket(*c, pick(2) == 0);
            c->state = Client::State::dead;
            remove_live(c);
        }
    }

    void on_handshake(const ClientPtr& c, error_code ec)
    {
        if (c->state == Client::State::dead)
            return;
        --connecting_;
        if (ec) {
            problem("handshake", "WebSocket upgrade failed: " + ec.message());
            c->state = Client::State::dead;
            return remove_live(c);
        }
        c->state = Client::State::open;
        last_activity_ = Clock::now();
        do_read(c);
        if (c->probe)
            send_join(c, c->probe_room);
        else if (pick(10) != 0)
            send_join(c, random_room());
    }

    void do_read(const ClientPtr& c)
    {
        c->ws.async_read(c->buffer, [this, c](error_code ec, std::size_t) { on_read(c, ec); });
    }

    void on_read(const ClientPtr& c, error_code ec)
    {
        if (ec) {
            if (c->state == Client::State::open) {
                const auto& reason = c->ws.reason();
                problem("server-closed", "connection ended unexpectedly: " + ec.message() +
                                             " (close code " + std::to_string(reason.code) + ") " +
                                             c->describe());
                kill_socket(*c, true);
                c->state = Client::State::dead;
                forget(c, "cut by server");
                remove_live(c);
            } else if (c->state == Client::State::closing && c->expected_close_code != 0) {
                check_server_close(c, ec);
            }
            return;
        }
        last_activity_ = Clock::now();
        ++stats_.frames_received;
        if (c->state == Client::State::open) {
            const auto data = c->buffer.cdata();
            const std::string_view text(static_cast<const char*>(data.data()), data.size());
            json message = json::parse(text, nullptr, false);
            if (message.is_discarded() || !message.is_object())
                problem("bad-json", "server sent non-JSON: " + std::string(text.substr(0, 200)));
            else
                on_message(*c, message, text);
        }
        c->buffer.consume(c->buffer.size());
        do_read(c);
    }

    void send(const ClientPtr& c, std::string text)
    {
        ++stats_.frames_sent;
        c->outbox.push_back(std::move(text));
        if (!c->writing)
            do_write(c);
    }

    void do_write(const ClientPtr& c)
    {
        c->writing = true;
        c->ws.async_write(net::buffer(c->outbox.front()),
                          [this, c](error_code ec, std::size_t) { on_write(c, ec); });
    }

    void on_write(const ClientPtr& c, error_code ec)
    {
        c->writing = false;
        c->outbox.pop_front();
        if (c->state == Client::State::dead)
            return;
        if (ec) {
            if (c->expected_close_code != 0)
                return; // the server may cut a misbehaving client mid-write; the read reports
            problem("write", "write failed: " + ec.message() + " " + c->describe());
            if (c->state == Client::State::closing)
                finish_close(c);
            return;
        }
        if (!c->outbox.empty())
            return do_write(c);
        if (c->after_flush == Client::Then::close)
            start_close_handshake(c);
        else if (c->after_flush == Client::Then::drop)
            finish_drop(c);
    }

    // Ends the client's life as a member: the server must now announce its departure.
    void forget(const ClientPtr& c, const char* how)
    {
        if (c->pending != Client::Pending::none) {
            c->pending = Client::Pending::none;
            --pending_count_;
        }
        if (!c->id.empty())
            fates_[c->id] = std::string(how) + "; " + c->describe();
    }

    void close_clean(const ClientPtr& c)
    {
        ++stats_.clean_closes;
        c->note("close");
        forget(c, "closed cleanly");
        c->state = Client::State::closing;
        closing_.emplace(c.get(), c);
        remove_live(c);
        arm_close_deadline(c);
        if (c->writing || !c->outbox.empty())
            c->after_flush = Client::Then::close;
        else
            start_close_handshake(c);
    }

    void arm_close_deadline(const ClientPtr& c)
    {
        c->close_timer.expires_after(close_deadline);
        c->close_timer.async_wait([this, c](error_code ec) {
            if (ec || c->state == Client::State::dead)
                return;
            problem("close-timeout", "close handshake unfinished after " +
                                         std::to_string(close_deadline.count()) + " s " +
                                         c->describe());
            kill_socket(*c, true);
            finish_close(c);
        });
    }

    void start_close_handshake(const ClientPtr& c)
    {
        c->after_flush = Client::Then::nothing;
        c->ws.async_close(websocket::close_code::normal, [this, c](error_code ec) {
            if (c->state == Client::State::dead)
                return;
            if (ec)
                problem("close-handshake",
                        "clean close failed: " + ec.message() + " " + c->describe());
            finish_close(c);
        });
    }

    void finish_close(const ClientPtr& c)
    {
        c->state = Client::State::dead;
        c->close_timer.cancel();
        kill_socket(*c, false);
        last_activity_ = Clock::now();
        closing_.erase(c.get());
    }

    // Abrupt: no close frame. With rst, SO_LINGER 0 turns the close into a TCP reset.
    void drop(const ClientPtr& c, bool rst)
    {
        ++(rst ? stats_.drops_rst : stats_.drops_fin);
        c->note(rst ? "drop rst" : "drop fin");
        forget(c, rst ? "dropped (RST)" : "dropped (FIN)");
        c->drop_with_rst = rst;
        remove_live(c);
        if (c->writing || !c->outbox.empty()) {
            // Let what was queued reach the socket first: the server may or may not act on it.
            c->state = Client::State::closing;
            c->after_flush = Client::Then::drop;
            closing_.emplace(c.get(), c);
            return;
        }
        c->state = Client::State::dead;
        kill_socket(*c, rst);
        last_activity_ = Clock::now();
    }

    void finish_drop(const ClientPtr& c)
    {
        c->after_flush = Client::Then::nothing;
        c->state = Client::State::dead;
        kill_socket(*c, c->drop_with_rst);
        last_activity_ = Clock::now();
        closing_.erase(c.get());
    }

    static void kill_socket(Client& c, bool rst)
    {
        error_code ignored;
        auto& socket = beast::get_lowest_layer(c.ws).socket();
        if (rst && socket.is_open())
            socket.set_option(net::socket_base::linger(true, 0), ignored);
        beast::get_lowest_layer(c.ws).close();
        c.close_timer.cancel();
    }

    void remove_live(const ClientPtr& c)
    {
        const auto found = std::find(live_.begin(), live_.end(), c);
        if (found != live_.end()) {
            *found = live_.back();
            live_.pop_back();
        }
        if (replenish_ && !c->probe)
            start_client(false); // reconnects as a new client with a new clientId
    }

    void abort_everything()
    {
        replenish_ = false;
        for (const auto& c : live_) {
            c->state = Client::State::dead;
            kill_socket(*c, true);
        }
        for (const auto& [raw, c] : closing_) {
            c->state = Client::State::dead;
            kill_socket(*c, true);
        }
        live_.clear();
        closing_.clear();
        // Let every aborted handler run, so none outlives this object.
        if (ioc_.stopped())
            ioc_.restart();
        ioc_.run_for(5s);
    }

    // ---- requests ----

    void send_join(const ClientPtr& c, const std::string& room)
    {
        ++stats_.joins;
        if (c->room)
            ++stats_.switches;
        c->note("join " + room);
        set_pending(*c, Client::Pending::join, room);
        send(c, json{{"action", "join"}, {"roomId", room}}.dump());
    }

    void send_leave(const ClientPtr& c)
    {
        ++stats_.leaves;
        c->note("leave " + *c->room);
        set_pending(*c, Client::Pending::leave, *c->room);
        send(c, json{{"action", "leave"}, {"roomId", *c->room}}.dump());
    }

    // phase 1 signals carry "p":1, the final exchange "p":2.
    void send_signal(const ClientPtr& c, const std::string* to, int phase)
    {
        json data{{"p", phase}, {"s", c->next_seq++}, {"f", c->id}, {"r", *c->room}};
        json message{{"action", "signal"},
                     {"roomId", *c->room},
                     {"type", signal_types[pick(signal_types.size())]}};
        if (to != nullptr) {
            data["t"] = *to;
            message["to"] = *to;
            ++stats_.directed;
        } else {
            ++stats_.broadcasts;
        }
        message["data"] = std::move(data);
        send(c, message.dump());
    }

    void send_random_signal(const ClientPtr& c)
    {
        if (!c->view.empty() && pick(2) == 0)
            send_signal(c, &c->view[pick(c->view.size())], 1);
        else
            send_signal(c, nullptr, 1);
    }

    void set_pending(Client& c, Client::Pending what, const std::string& room)
    {
        if (c.pending == Client::Pending::none)
            ++pending_count_;
        c.pending = what;
        c.pending_room = room;
        c.pending_since = Clock::now();
    }

    void clear_pending(Client& c)
    {
        if (c.pending == Client::Pending::none)
            return;
        stats_.max_request_ms = std::max(stats_.max_request_ms, ms_since(c.pending_since));
        c.pending = Client::Pending::none;
        --pending_count_;
    }

    // ---- phase 1 operations ----

    void random_op()
    {
        ClientPtr c;
        for (int attempt = 0; attempt < 8 && !c && !live_.empty(); ++attempt) {
            auto& candidate = live_[pick(live_.size())];
            if (candidate->ready() && !candidate->probe)
                c = candidate;
        }
        if (!c)
            return;
        ++stats_.ops;
        const std::size_t roll = pick(1000);
        if (!c->room) {
            if (roll < 800)
                send_join(c, random_room());
            else if (roll < 880)
                close_clean(c);
            else if (roll < 960)
                drop(c, roll % 2 == 0);
            else
                send_then_die(c);
            return;
        }
        if (roll < 330) {
            send_signal(c, nullptr, 1);
        } else if (roll < 660) {
            if (c->view.empty())
                send_signal(c, nullptr, 1);
            else
                send_signal(c, &c->view[pick(c->view.size())], 1);
        } else if (roll < 720) {
            ++stats_.bursts;
            const std::size_t n = 3 + pick(4);
            for (std::size_t i = 0; i < n; ++i)
                send_random_signal(c);
        } else if (roll < 830) {
            send_join(c, other_room(c->room));
        } else if (roll < 880) {
            send_leave(c);
        } else if (roll < 910) {
            close_clean(c);
        } else if (roll < 940) {
            drop(c, true);
        } else if (roll < 955) {
            drop(c, false);
        } else if (roll < 985) {
            send_then_die(c);
        } else {
            misbehave(c);
        }
    }

    // Breaks a rule that makes the server close the connection itself: a binary frame (1003),
    // invalid UTF-8 (1007) or an oversized message (1009). The member stays in its room until
    // the server's close completes, and then must be announced like any other departure.
    void misbehave(const ClientPtr& c)
    {
        ++stats_.server_closes;
        const std::size_t kind = pick(3);
        c->expected_close_code = kind == 0 ? 1003 : kind == 1 ? 1007 : 1009;
        c->note("misbehave, expect " + std::to_string(c->expected_close_code));
        forget(c, "closed by the server after misbehaving");
        c->state = Client::State::closing;
        closing_.emplace(c.get(), c);
        remove_live(c);
        arm_close_deadline(c);
        if (kind == 0) {
            c->ws.binary(true);
            send(c, "\x01\x02binary");
        } else if (kind == 1) {
            send(c, "{\"action\":\"join\",\"roomId\":\"\xff\xfe\"}");
        } else {
            send(c, std::string(65537, ' '));
        }
    }

    void check_server_close(const ClientPtr& c, error_code ec)
    {
        const auto code = c->ws.reason().code;
        // The close frame must carry the expected code. No frame at all is allowed: a server
        // that refuses an oversized message after its header closes with data of ours unread,
        // so its kernel resets the connection, and one whose close goes unanswered for its 2 s
        // close deadline (a slow driver, in the ASan build) cuts the socket.
        if (code == c->expected_close_code)
            ++stats_.server_close_codes_seen;
        else if (code != 0 || ec == websocket::error::closed)
            problem("server-close-code", "expected close " +
                                             std::to_string(c->expected_close_code) + ", got " +
                                             ec.message() + " (close code " + std::to_string(code) +
                                             ") " + c->describe());
        finish_close(c);
    }

    // A request, a signal or both, then a close or a drop right behind them: the server sees the
    // departure while it may still be handling (or never get) what came just before.
    void send_then_die(const ClientPtr& c)
    {
        ++stats_.send_then_die;
        const std::size_t what = c->room ? pick(4) : 3;
        if (what == 0) {
            send_random_signal(c);
        } else if (what == 1) {
            send_leave(c);
        } else {
            if (what == 2)
                send_random_signal(c);
            send_join(c, other_room(c->room));
        }
        const std::size_t how = pick(3);
        if (how == 0)
            close_clean(c);
        else
            drop(c, how == 1);
    }

    // ---- incoming messages: every rule of the header comment ----

    void on_message(Client& c, const json& m, std::string_view text)
    {
        const std::string action = m.value("action", "");
        const std::string room = m.contains("roomId") && m["roomId"].is_string()
                                     ? m["roomId"].get<std::string>()
                                     : std::string();
        auto wrong = [&](const std::string& kind, const std::string& why) {
            problem(kind, why + ": " + std::string(text.substr(0, 300)) + " to " + c.describe());
        };

        if (action == "signal") {
            on_signal(c, m, room, wrong);
        } else if (action == "peer-joined") {
            ++stats_.peer_joined;
            const std::string peer = m.contains("peer") ? m["peer"].value("clientId", "") : "";
            if (!c.room || *c.room != room)
                return wrong("peer-joined-wrong-room", "peer-joined for a room it is not in");
            if (peer.empty() || peer == c.id)
                return wrong("peer-joined-bad", "peer-joined without a peer, or for itself");
            if (c.in_view(peer))
                return wrong("peer-joined-duplicate", "peer-joined for a peer already present");
            c.view.push_back(peer);
            ++c.episode[peer].first;
        } else if (action == "peer-left") {
            ++stats_.peer_left;
            const std::string peer = m.value("clientId", "");
            if (!c.room || *c.room != room)
                return wrong("peer-left-wrong-room", "peer-left for a room it is not in");
            const auto found = std::find(c.view.begin(), c.view.end(), peer);
            if (found == c.view.end())
                return wrong("peer-left-unknown",
                             "peer-left for a peer not present (duplicate or never joined)");
            *found = c.view.back();
            c.view.pop_back();
            ++c.episode[peer].second;
        } else if (action == "left") {
            c.note("left " + room);
            const bool asked = (c.pending == Client::Pending::leave && c.pending_room == room) ||
                               (c.pending == Client::Pending::join && c.room);
            if (!asked)
                return wrong("left-unexpected", "left without a leave or a switch pending");
            if (!c.room || *c.room != room)
                return wrong("left-wrong-room", "left for a room it is not in");
            c.room.reset();
            c.view.clear();
            c.episode.clear();
            if (c.pending == Client::Pending::leave)
                clear_pending(c);
        } else if (action == "joined") {
            on_joined(c, m, room, wrong);
        } else if (action == "error") {
            if (m.value("code", "") == "unknown-peer" && m.value("request", "") == "signal") {
                ++stats_.unknown_peer; // the target left while the signal was on its way
                return;
            }
            wrong("error", "unexpected error reply");
            if (m.value("request", "") != "signal")
                clear_pending(c);
        } else {
            wrong("unknown-action", "unknown action");
        }
    }

    template <class Wrong>
    void on_joined(Client& c, const json& m, const std::string& room, Wrong& wrong)
    {
        c.note("joined " + room);
        if (c.pending != Client::Pending::join || c.pending_room != room)
            return wrong("joined-unexpected", "joined without a join for that room pending");
        clear_pending(c);
        if (c.room)
            return wrong("joined-before-left", "joined for a new room before left for the old");
        const std::string id = m.value("clientId", "");
        const bool well_formed = id.size() == 10 && std::all_of(id.begin(), id.end(), [](char ch) {
                                     return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z');
                                 });
        if (!well_formed)
            return wrong("joined-bad-id", "clientId is not 10 characters of [0-9a-z]");
        if (c.id.empty()) {
            if (!ids_seen_.insert(id).second)
                return wrong("id-reused", "clientId already given to another connection");
            c.id = id;
        } else if (c.id != id) {
            return wrong("id-changed", "clientId changed during the connection");
        }
        c.room = room;
        c.view.clear();
        c.episode.clear();
        if (!m.contains("peers") || !m["peers"].is_array())
            return wrong("joined-no-peers", "joined without a peers array");
        for (const auto& peer : m["peers"]) {
            const std::string peer_id = peer.value("clientId", "");
            if (peer_id.empty() || peer_id == c.id || c.in_view(peer_id)) {
                wrong("joined-bad-peers", "peers lists itself, a duplicate or an empty id");
                continue;
            }
            c.view.push_back(peer_id);
            ++c.episode[peer_id].first;
        }
        if (c.probe)
            c.snapshot = c.view;
    }

    template <class Wrong>
    void on_signal(Client& c, const json& m, const std::string& room, Wrong& wrong)
    {
        ++stats_.signals_delivered;
        if (!c.room || *c.room != room)
            return wrong("signal-wrong-room", "signal for a room the receiver is not in");
        const std::string from = m.value("from", "");
        if (!c.in_view(from))
            return wrong("signal-from-non-member",
                         "signal from a peer the receiver has not been told is present");
        if (!m.contains("data") || !m["data"].is_object())
            return wrong("signal-bad-data", "data missing or altered");
        const json& data = m["data"];
        if (data.value("f", "") != from)
            return wrong("signal-wrong-from", "from is not the sender's clientId");
        if (data.value("r", "") != room)
            return wrong("signal-cross-room", "signal sent in another room");
        const std::string type = m.value("type", "");
        if (std::find(signal_types.begin(), signal_types.end(), type) == signal_types.end())
            return wrong("signal-bad-type", "type altered");
        const bool directed = data.contains("t");
        if (directed != m.contains("to"))
            return wrong("signal-to-mismatch",
                         "to present on a broadcast or missing on a directed");
        if (directed && (m.value("to", "") != c.id || data.value("t", "") != c.id))
            return wrong("signal-misdirected", "directed signal for someone else");
        const std::uint64_t seq = data.value("s", std::uint64_t{0});
        auto& last = c.last_seq[from];
        if (seq <= last)
            return wrong("signal-order", "sequence number " + std::to_string(seq) + " after " +
                                             std::to_string(last) +
                                             " from the same sender (duplicate or reordered)");
        last = seq;
        if (data.value("p", 0) == 2)
            ++c.final_received;
    }

    // ---- phase 2 checks ----

    std::size_t probes_joined() const
    {
        return static_cast<std::size_t>(
            std::count_if(live_.begin(), live_.end(),
                          [](const auto& c) { return c->probe && c->room.has_value(); }));
    }

    void expect_metrics_match_beliefs(const char* when)
    {
        Gauges expected{static_cast<long>(live_.size()), static_cast<long>(live_.size()), 0, 0};
        std::set<std::string> rooms;
        for (const auto& c : live_)
            if (c->room) {
                ++expected.members;
                rooms.insert(*c->room);
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

    // Nothing in this run may be refused or cut off: every limit is far away and every client
    // reads everything it is sent.
    void expect_no_rejections()
    {
        try {
            for (const auto& [sample, value] : fetch_metrics(server_.port()))
                if (sample.starts_with("signald_rejections_total") && value != 0)
                    problem("rejections", sample + " is " + std::to_string(value));
        } catch (const std::exception& e) {
            problem("metrics", std::string("GET /metrics failed: ") + e.what());
        }
    }

    void compare_views_with_server()
    {
        std::map<std::string, std::vector<const Client*>> believers;
        std::map<std::string, const Client*> probe_of;
        std::unordered_map<std::string, const Client*> by_id;
        for (const auto& c : live_) {
            if (!c->id.empty())
                by_id[c->id] = c.get();
            if (c->probe)
                probe_of[c->probe_room] = c.get();
            else if (c->room)
                believers[*c->room].push_back(c.get());
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
                const std::set<std::string> view(member->view.begin(), member->view.end());
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
                for (const auto& [peer, counts] : member->episode) {
                    const int still_there = server.contains(peer) || peer == probe.id ? 1 : 0;
                    const int departures = counts.first - still_there;
                    if (counts.second != departures)
                        problem("peer-left-count",
                                room + ": " + std::to_string(counts.second) + " peer-left for " +
                                    std::to_string(departures) + " departures of " + who(peer) +
                                    " seen by " + member->describe());
                    else
                        stats_.peer_left_exact_checks += static_cast<std::size_t>(departures);
                }
            }
        }
    }

    // Every member broadcasts once and sends one directed signal, while nothing else happens:
    // each must arrive exactly once (losses are visible only when nothing races them).
    void final_exchange()
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
            if (!c->room)
                continue;
            send_signal(c, nullptr, 2);
            for (const auto& peer : c->view)
                if (const auto found = by_id.find(peer); found != by_id.end())
                    ++found->second->final_expected;
            if (!c->view.empty()) {
                const std::string& to = c->view[pick(c->view.size())];
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
                problem("signal-lost",
                        "final exchange: received " + std::to_string(c->final_received) + " of " +
                            std::to_string(c->final_expected) + " signals " + c->describe());
        }
    }

    SignaldProcess& server_;
    CycleSettings settings_;
    std::mt19937_64 rng_;
    tcp::endpoint endpoint_;
    std::vector<std::string> rooms_;

    net::io_context ioc_{1};
    std::vector<ClientPtr> live_;                        // connecting or open
    std::unordered_map<Client*, ClientPtr> closing_;     // closing, or flushing before a drop
    std::unordered_set<std::string> ids_seen_;           // every clientId ever handed out
    std::unordered_map<std::string, std::string> fates_; // how each departed client went
    std::map<std::string, Problem> problems_;
    std::size_t next_serial_ = 0;
    std::size_t connecting_ = 0;
    std::size_t pending_count_ = 0;
    bool replenish_ = false;
    Clock::time_point last_activity_ = Clock::now();
    Stats stats_;
};

// One full cycle: ramp up, chaos, verify, everyone leaves. Returns the peak RSS seen.
Memory run_cycle(SignaldProcess& server, const CycleSettings& settings, std::uint64_t seed,
                 Memory* connected = nullptr)
{
    Memory peak = memory_of(server.pid());
    Driver driver(server, settings, seed);
    driver.ramp_up();
    if (connected != nullptr)
        *connected = memory_of(server.pid());
    driver.chaos(peak);
    driver.verify_quiescent();
    driver.close_everyone();
    driver.print_summary();
    driver.report_problems();
    peak.hwm_kib = memory_of(server.pid()).hwm_kib;
    return peak;
}

TEST(Chaos, ThousandClientsDoingRandomThingsLeaveConsistentViewsAndNoLeaks)
{
    raise_descriptor_limit();
    const std::uint64_t seed = seed_from_environment();
    std::printf("[chaos] seed %llu (set SIGNALD_CHAOS_SEED to replay)%s\n",
                static_cast<unsigned long long>(seed), SIGNALD_CHAOS_ASAN ? ", ASan build" : "");
    TempDir web_root;
    web_root.write("index.html", "<!doctype html>\n");
    SignaldProcess server(server_args(web_root.path(), server_extra_args()));
    const auto started = Clock::now();
    const Memory fresh = memory_of(server.pid());

    // Warm-up: the same number of clients for a short while, so the allocator's arenas have grown
    // to what 1,000 sessions need before the baseline is taken.
    Memory connected;
    const Memory warm_peak =
        run_cycle(server, {"warm-up", 1000, 3s, 6'000, 2'000.0}, seed ^ 0x5eed, &connected);
    ASSERT_TRUE(server.running()) << "signald died during the warm-up";
    const Memory baseline = memory_of(server.pid());

    const Memory chaos_peak = run_cycle(server, {"chaos", 1000, 20s, 60'000, 2'500.0}, seed);
    ASSERT_TRUE(server.running()) << "signald died during the chaos run";
    const Memory end = memory_of(server.pid());

    const double per_session_kib = static_cast<double>(connected.rss_kib - fresh.rss_kib) / 1000.0;
    std::printf("[chaos] server RSS: fresh %.1f MiB, 1000 connected %.1f MiB (%.1f KiB per "
                "session), warm-up peak %.1f MiB, baseline %.1f MiB, chaos peak %.1f MiB (VmHWM "
                "%.1f MiB), end %.1f MiB; server CPU %.1f s; total %.1f s\n",
                mib(fresh.rss_kib), mib(connected.rss_kib), per_session_kib, mib(warm_peak.rss_kib),
                mib(baseline.rss_kib), mib(chaos_peak.rss_kib), mib(chaos_peak.hwm_kib),
                mib(end.rss_kib), cpu_seconds_of(server.pid()), ms_since(started) / 1000.0);
    std::fflush(stdout);

#if SIGNALD_CHAOS_ASAN
    // The server comes from the same build, so it is instrumented too: ASan's quarantine and
    // shadow memory hold on to freed memory, so RSS says nothing; LeakSanitizer, below, does.
    std::printf("[chaos] ASan build: RSS check skipped; LeakSanitizer checks at exit instead\n");
#else
    // 4 MiB. Measured (RelWithDebInfo, glibc malloc): the warm-up leaves the server at ~15 MiB
    // and the chaos run, with ~7,500 connections coming and going, ends within 0.3 MiB of that.
    // One WebSocket session costs ~9 KiB of server RSS (printed above as "per session"), so
    // 1,000 leaked sessions are ~9 MiB and fail this; so does anything leaked per connection
    // from ~0.6 KiB up. 4 MiB is still over 10 times the drift seen, so allocator noise passes.
    constexpr long tolerance_kib = 4L * 1024;
    EXPECT_LE(end.rss_kib, baseline.rss_kib + tolerance_kib)
        << "server RSS grew from " << mib(baseline.rss_kib) << " MiB to " << mib(end.rss_kib)
        << " MiB across a run of the same size as the warm-up";
#endif

    // A clean exit: status 0, and no sanitizer report (UBSan only prints; LeakSanitizer runs at
    // exit and fails the status).
    server.send_signal(SIGTERM);
    const auto status = server.wait_exit(20s);
    ASSERT_TRUE(status.has_value()) << "signald did not exit within 20 s of SIGTERM";
    EXPECT_TRUE(status->exited_normally() && status->code == 0) << status->describe();
    const std::string log = server.stderr_text();
    for (const char* marker : {"runtime error:", "Sanitizer"})
        EXPECT_EQ(log.find(marker), std::string::npos)
            << "signald's stderr has a sanitizer report:\n"
            << log.substr(log.find(marker), 4000);
}

} // namespace
} // namespace signald::test
