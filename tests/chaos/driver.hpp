#pragma once
// Driver: runs about 1,000 chaos clients as asynchronous state machines on one io_context and
// one thread, in phases (ramp-up, random operations, quiescent checks, everyone leaves), and
// records every problem it sees. Its duties are split by file: driver.cpp runs the phases, the
// requests and the random operations; connections.cpp each client's connection lifecycle (the
// only file here that compiles Beast's WebSocket); driver_checks.cpp checks what the clients are
// told (each message through the shared oracle, then the server's member lists, the final
// exchange and /metrics). chaos_test.cpp says what is checked and why, and runs the cycles.

#include "chaos_client.hpp"
#include "nodes.hpp"
#include "server_probe.hpp"
#include "signald_process.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace signald::test::chaos {

using namespace std::chrono_literals;
using json = nlohmann::json;
using tcp = net::ip::tcp;

inline constexpr int room_pool = 50;
inline constexpr std::array<const char*, 4> signal_types{"offer", "answer", "ice-candidate",
                                                         "hangup"};

// A client whose request gets no answer, or whose close handshake does not finish, within this is
// a server that has lost track of it. Generous: the ASan build under full load is slow.
inline constexpr auto request_deadline = 15s;
inline constexpr auto close_deadline = 15s;
// Phase 1 pauses while more requests than this await answers: about 0.3 s of requests at the
// normal build's pace, and it keeps the ASan build's backlog within a few seconds.
inline constexpr std::size_t max_pending_requests = 100;

// The server's --resume-grace: short, so members whose connection was cut and who do not come
// back expire within the run. A cut member that resumes waits at most max_resume_delay first,
// which leaves two seconds (seven in the ASan build, whose backlog reaches seconds) for the new
// connection, its upgrade and its resume to reach a busy server before the grace ends.
inline std::chrono::seconds resume_grace()
{
    static const bool sanitized = binary_is_address_sanitized(default_binary());
    return sanitized ? 8s : 3s;
}
inline constexpr auto max_resume_delay = 1000ms;

inline double ms_since(Clock::time_point start)
{
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// A member whose node was killed resumes within this (on a node that is up): spread over the
// time the cluster takes to declare that node dead (at most --node-timeout + 1 s), so that some
// resume before (a takeover of a connection the leader still thinks open) and some after. Still
// well inside the grace period, which starts only when the node is declared dead.
inline constexpr auto max_victim_resume_delay = 3500ms;

// One cycle's shape. The warm-up and the chaos run differ only in these numbers.
struct CycleSettings
{
    const char* name;
    std::size_t clients;                // kept live during phase 1
    std::chrono::milliseconds duration; // phase 1 ends at this or at op_budget, whichever first
    std::size_t op_budget;
    double ops_per_second;
    // In a cluster: this far into phase 1 the last node (never the leader) is killed with
    // SIGKILL, and restart_after later started again. Zero: no node is killed.
    std::chrono::milliseconds kill_at{0};
    std::chrono::milliseconds restart_after{0};
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
    // Resume: cuts that come back, cuts left to expire, takeovers of a connection still open.
    std::size_t cuts_resumed = 0;
    std::size_t cuts_expired = 0;
    std::size_t takeovers = 0;
    std::size_t takeover_4001 = 0;
    std::size_t resumes = 0;        // resumed received
    std::size_t resumes_failed = 0; // resume-failed received, as asked for (bad received)
    std::size_t resumes_late = 0;   // resume-failed after the grace period could have ended
    std::size_t peer_suspended = 0;
    std::size_t peer_resumed = 0;
    std::size_t resumed_listed = 0; // peer-resumed for a peer its joined.peers listed suspended
    // The server's resume_events_total{event="suspended"} must be within these: a member cut with
    // nothing pending is suspended for certain; one cut right behind a join from no room or a
    // leave is suspended only if the server read that request first.
    std::size_t suspensions_certain = 0;
    std::size_t suspensions_maybe = 0;
    std::size_t expiries_certain = 0; // certainly suspended by a cut and not coming back
    double max_request_ms = 0;        // since the last phase took it
    double ramp_ms = 0;
    double chaos_max_request_ms = 0;
    double ramp_max_request_ms = 0;
    double phase1_ms = 0;
    double throttled_ms = 0;
    // A node killed: the connections it cut, and how their members went on.
    std::size_t node_kills = 0;
    std::size_t victims = 0;         // connections the kill cut (open or connecting)
    std::size_t victims_resumed = 0; // members that will resume on another node
    std::size_t victims_gone = 0;    // members left to expire
    std::size_t victim_retries = 0;  // resumers whose new connection the kill cut: again elsewhere
    // Resumes on their way when their node died: the server may have counted them or not.
    std::size_t resumes_maybe = 0;
    // peer-suspended for a member of the killed node: how many were heard, and the latest after
    // the kill (the others must hear within --node-timeout + 1 s).
    std::size_t victims_suspended_heard = 0;
    double victim_suspended_max_ms = 0;
};

class Driver
{
public:
    Driver(Nodes& nodes, CycleSettings settings, std::uint64_t seed);
    ~Driver();
    Driver(const Driver&) = delete;
    Driver& operator=(const Driver&) = delete;

    // Phase 0: everyone connects and most join a room; returns once all are settled.
    void ramp_up();
    // Phase 1: random operations until the time or the operation budget runs out.
    void chaos(Memory& peak);
    // Phase 2: nothing moves; compare every view with the server's own member lists.
    void verify_quiescent();
    // Phase 3: everyone goes, half cleanly and half abruptly; the server must forget them all
    // (the abrupt ones once their grace period is over), and its resume counters must agree with
    // what the clients did.
    void close_everyone();
    // Every problem seen, as test failures, grouped by kind with a few examples each.
    void report_problems() const;
    void print_summary() const;

private:
    struct Problem
    {
        std::size_t count = 0;
        std::vector<std::string> examples;
    };

    // ---- randomness ----
    std::size_t pick(std::size_t n) { return static_cast<std::size_t>(rng_() % n); }
    const std::string& random_room() { return rooms_[pick(rooms_.size())]; }
    const std::string& other_room(const std::optional<std::string>& current);

    // ---- the event loop (driver.cpp) ----
    void run_for(std::chrono::milliseconds duration);
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
    void expire_requests();
    bool busy() const;
    std::string busy_report() const;
    // Quiet: nothing of ours in flight and no message for quiet_for.
    bool wait_quiet(Clock::duration quiet_for, Clock::time_point deadline);
    // GET /metrics from every node that is up; a format problem is a problem too, and so is a
    // failed request (then nullopt).
    std::optional<std::vector<Exposition>> fetch_all_metrics();
    // The gauges of every node that is up, added up: connections are each node's own, rooms and
    // members the leader's (every other node's Hub must hold none).
    std::optional<Gauges> read_gauges();
    // Reads /metrics until accept(gauges) or the deadline.
    template <class Accept>
    bool poll_metrics(Accept accept, Clock::time_point deadline)
    {
        for (;;) {
            const auto gauges = read_gauges();
            if (!gauges)
                return false;
            if (accept(*gauges))
                return true;
            if (Clock::now() >= deadline)
                return false;
            run_for(50ms);
        }
    }
    void problem(const std::string& kind, std::string detail);

    // How a cut member goes on (connections.cpp).
    enum class Cut
    {
        gone,   // never comes back: the grace period ends, the others hear peer-left
        resume, // resumes after a short delay
        fail,   // resumes with a received count too large: resume-failed, then a fresh client
    };

    // ---- connection lifecycle (driver.cpp) ----
    // A node that is up, at random (the only one, without a cluster).
    std::size_t pick_node(bool spare_the_victim = false);
    void start_client(bool probe, const std::string& probe_room = {});
    void open_connection(const ClientPtr& c);
    void on_connect(const ClientPtr& c, error_code ec);
    void on_handshake(const ClientPtr& c, error_code ec);
    void do_read(const ClientPtr& c);
    void on_read(const ClientPtr& c, error_code ec);
    void send(const ClientPtr& c, std::string text);
    void do_write(const ClientPtr& c);
    void on_write(const ClientPtr& c, error_code ec);
    // Ends the client's life as a member: the server must now announce its departure.
    void forget(const ClientPtr& c, const char* how);
    void close_clean(const ClientPtr& c);
    void arm_close_deadline(const ClientPtr& c);
    void start_close_handshake(const ClientPtr& c);
    void finish_close(const ClientPtr& c);
    // Abrupt: no close frame. With rst, SO_LINGER 0 turns the close into a TCP reset.
    void drop(const ClientPtr& c, bool rst, Cut cut = Cut::gone);
    // A member cut, whatever cut it: counts what the server must do and, unless it is gone,
    // prepares its resume. Returns cut, made gone if the member cannot resume.
    Cut plan_cut(const ClientPtr& c, Cut cut, const char* how);
    void finish_drop(const ClientPtr& c);
    static void kill_socket(Client& c, bool rst);
    void remove_live(const ClientPtr& c, bool replace = true);
    // Resume (connections.cpp): a cut member comes back after delay on a new connection that
    // carries its view; take_over resumes while the old connection is still open (it must get
    // close 4001).
    void schedule_resume(const ClientPtr& old);
    void start_resumer(const ClientPtr& old);
    void take_over(const ClientPtr& c);
    void finish_take_over(const ClientPtr& c);
    // Counts the suspension a cut causes; true if it certainly causes one.
    bool count_cut(const Client& c);
    void abort_everything();

    // ---- a node killed (connections.cpp) ----
    // SIGKILL the node; every connection it held is cut at once (the driver closes its end too):
    // its members resume elsewhere, fail to on purpose, or are left to expire.
    void kill_node(std::size_t node);
    void lose_open(const ClientPtr& c);
    void lose_connecting(const ClientPtr& c);
    void lose_closing(const ClientPtr& c);

    // ---- requests (driver.cpp) ----
    void send_join(const ClientPtr& c, const std::string& room);
    void send_leave(const ClientPtr& c);
    void send_resume(const ClientPtr& c);
    // phase 1 signals carry "p":1, the final exchange "p":2.
    void send_signal(const ClientPtr& c, const std::string* to, int phase);
    void send_random_signal(const ClientPtr& c);
    void set_pending(Client& c, Client::Pending what, const std::string& room);
    void clear_pending(Client& c);

    // ---- phase 1 operations (driver.cpp; misbehaving is in connections.cpp) ----
    void random_op();
    // Breaks a rule that makes the server close the connection itself: a binary frame (1003),
    // invalid UTF-8 (1007) or an oversized message (1009). The member stays in its room until
    // the server's close completes, and then must be announced like any other departure.
    void misbehave(const ClientPtr& c);
    void check_server_close(const ClientPtr& c, error_code ec);
    // A cut of a member in a room: resumes mostly, sometimes lets its grace end, now and then
    // fails its resume on purpose or takes over while its old connection is still open.
    void cut(const ClientPtr& c, bool rst);
    // A request, a signal or both, then a close or a drop right behind them: the server sees the
    // departure while it may still be handling (or never get) what came just before.
    void send_then_die(const ClientPtr& c);

    // ---- incoming messages (driver_checks.cpp) ----
    void on_message(Client& c, const json& m, std::string_view text);
    void on_joined(Client& c, bool first_joined, std::string_view text);
    void on_signal(Client& c, const json& m, const std::string& room, std::string_view text);
    void on_error(Client& c, const json& m, std::string_view text);
    void on_resumed(Client& c, std::string_view text);
    // After each message: the token and the count a resume would send.
    void count_received(Client& c, const json& m, std::string_view text);
    void wrong(const Client& c, const std::string& kind, const std::string& why,
               std::string_view text);

    // ---- phase 2 checks (driver_checks.cpp) ----
    std::size_t probes_joined() const;
    void expect_metrics_match_beliefs(const char* when);
    // Nothing in this run may be refused or cut off: every limit is far away and every client
    // reads everything it is sent.
    void expect_no_rejections();
    void compare_views_with_server();
    // Every member broadcasts once and sends one directed signal, while nothing else happens:
    // each must arrive exactly once (losses are visible only when nothing races them).
    void final_exchange();
    // Waits until no member is suspended (every cut member resumed or expired): the expiries'
    // peer-left must have reached everyone before views are compared.
    void await_no_suspended(const char* when);
    // signald_resume_events_total since this cycle began against what the clients did.
    std::map<std::string, double> resume_events();
    void expect_resume_events();

    Nodes& nodes_;
    CycleSettings settings_;
    std::mt19937_64 rng_;
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
    std::size_t scheduled_resumes_ = 0; // cut members waiting to resume
    std::vector<std::shared_ptr<net::steady_timer>> resume_timers_;
    std::map<std::string, double> events_at_start_; // resume events before this cycle
    Clock::time_point last_activity_ = Clock::now();
    // Members of the killed node, certainly suspended by it, whose peer-suspended nobody has
    // heard yet.
    std::unordered_map<std::string, Clock::time_point> victims_killed_at_;
    Stats stats_;
};

} // namespace signald::test::chaos
