// The chaos clients' connection lifecycle: connect, upgrade, read, write, and the ways to go
// (clean close, RST or FIN drop, handshake abort), each ending in exactly one place. Part of
// Driver (driver.hpp); what a client is told is checked in driver_checks.cpp.

#include "driver.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket.hpp>

#include <algorithm>

namespace signald::test::chaos {

namespace beast = boost::beast;
namespace websocket = beast::websocket;

struct Client::Socket
{
    explicit Socket(net::io_context& ioc) : ws(ioc), close_timer(ioc) {}

    websocket::stream<beast::tcp_stream> ws;
    beast::flat_buffer buffer;
    net::steady_timer close_timer;
};

Client::Client(net::io_context& ioc, std::size_t serial_number, bool is_probe)
    : socket(std::make_unique<Socket>(ioc)), serial(serial_number), probe(is_probe)
{}

Client::~Client() = default;

void Driver::start_client(bool probe, const std::string& probe_room)
{
    auto c = std::make_shared<Client>(ioc_, next_serial_++, probe);
    c->probe_room = probe_room;
    c->abort_handshake = !probe && replenish_ && pick(100) < 2;
    open_connection(c);
}

std::size_t Driver::pick_node(bool spare_the_victim)
{
    if (nodes_.size() == 1)
        return 0; // no draw: a seed replays the same run as before clusters
    auto up = nodes_.up_nodes();
    // The resumer of a takeover never goes to the node that is killed (the last): if it died
    // with that node mid-resume, the driver could not tell whether the server had taken the
    // token (a retry is then refused, and a real page joins afresh), and it does not model that.
    if (spare_the_victim && up.size() > 1 && up.back() == nodes_.size() - 1)
        up.pop_back();
    return up[pick(up.size())];
}

void Driver::open_connection(const ClientPtr& c)
{
    c->node = pick_node(c->taken_over != nullptr);
    c->opened_at = Clock::now();
    live_.push_back(c);
    ++connecting_;
    ++stats_.connections_opened;
    stats_.peak_live = std::max(stats_.peak_live, live_.size());
    auto& stream = beast::get_lowest_layer(c->socket->ws);
    stream.expires_after(10s);
    const tcp::endpoint endpoint(net::ip::make_address("127.0.0.1"), nodes_.port(c->node));
    stream.async_connect(endpoint, [this, c](error_code ec) { on_connect(c, ec); });
}

void Driver::on_connect(const ClientPtr& c, error_code ec)
{
    if (c->state == Client::State::dead)
        return;
    if (ec) {
        --connecting_;
        c->state = Client::State::dead;
        problem("connect", "TCP connect failed: " + ec.message());
        return remove_live(c);
    }
    beast::get_lowest_layer(c->socket->ws).expires_never();
    // As browsers do: small frames go out at once instead of waiting for an ACK.
    beast::get_lowest_layer(c->socket->ws).socket().set_option(tcp::no_delay(true), ec);
    auto timeouts = websocket::stream_base::timeout::suggested(beast::role_type::client);
    timeouts.handshake_timeout = 15s;
    c->socket->ws.set_option(timeouts);
    c->socket->ws.text(true);
    c->socket->ws.async_handshake("127.0.0.1:" + std::to_string(nodes_.port(c->node)), "/ws",
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

void Driver::on_handshake(const ClientPtr& c, error_code ec)
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
    else if (c->resumes)
        send_resume(c); // a resume must be the connection's first message
    else if (pick(10) != 0)
        send_join(c, random_room());
}

void Driver::do_read(const ClientPtr& c)
{
    c->socket->ws.async_read(c->socket->buffer,
                             [this, c](error_code ec, std::size_t) { on_read(c, ec); });
}

void Driver::on_read(const ClientPtr& c, error_code ec)
{
    if (ec) {
        if (c->state == Client::State::open) {
            const auto& reason = c->socket->ws.reason();
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
        const auto data = c->socket->buffer.cdata();
        const std::string_view text(static_cast<const char*>(data.data()), data.size());
        json message = json::parse(text, nullptr, false);
        if (message.is_discarded() || !message.is_object())
            problem("bad-json", "server sent non-JSON: " + std::string(text.substr(0, 200)));
        else
            on_message(*c, message, text);
        count_received(*c, message, text);
    }
    c->socket->buffer.consume(c->socket->buffer.size());
    if (c->takeover_pending && c->state == Client::State::open) {
        c->takeover_pending = false;
        // Only a member with a token it knows to be live can resume: in a room, nothing pending.
        if (c->room() && !c->token.empty() && c->pending == Client::Pending::none) {
            finish_take_over(c); // reads again once its resumer is resumed
            return;
        }
        c->note("no takeover: not a member with a live token any more");
    }
    do_read(c);
}

void Driver::send(const ClientPtr& c, std::string text)
{
    ++stats_.frames_sent;
    c->outbox.push_back(std::move(text));
    if (!c->writing)
        do_write(c);
}

void Driver::do_write(const ClientPtr& c)
{
    c->writing = true;
    c->socket->ws.async_write(net::buffer(c->outbox.front()),
                              [this, c](error_code ec, std::size_t) { on_write(c, ec); });
}

void Driver::on_write(const ClientPtr& c, error_code ec)
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

void Driver::forget(const ClientPtr& c, const char* how)
{
    c->maybe_member = c->room().has_value() || c->pending == Client::Pending::join;
    if (c->pending != Client::Pending::none) {
        c->pending = Client::Pending::none;
        --pending_count_;
    }
    if (!c->id.empty())
        fates_[c->id] = std::string(how) + "; " + c->describe();
}

void Driver::close_clean(const ClientPtr& c)
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

void Driver::arm_close_deadline(const ClientPtr& c)
{
    c->socket->close_timer.expires_after(close_deadline);
    c->socket->close_timer.async_wait([this, c](error_code ec) {
        if (ec || c->state == Client::State::dead)
            return;
        problem("close-timeout", "close handshake unfinished after " +
                                     std::to_string(close_deadline.count()) + " s " +
                                     c->describe());
        kill_socket(*c, true);
        finish_close(c);
    });
}

void Driver::start_close_handshake(const ClientPtr& c)
{
    c->after_flush = Client::Then::nothing;
    c->socket->ws.async_close(websocket::close_code::normal, [this, c](error_code ec) {
        if (c->state == Client::State::dead)
            return;
        if (ec)
            problem("close-handshake", "clean close failed: " + ec.message() + " " + c->describe());
        finish_close(c);
    });
}

void Driver::finish_close(const ClientPtr& c)
{
    c->state = Client::State::dead;
    c->socket->close_timer.cancel();
    kill_socket(*c, false);
    last_activity_ = Clock::now();
    closing_.erase(c.get());
}

void Driver::drop(const ClientPtr& c, bool rst, Cut cut)
{
    ++(rst ? stats_.drops_rst : stats_.drops_fin);
    cut = plan_cut(c, cut, rst ? "dropped (RST)" : "dropped (FIN)");
    c->drop_with_rst = rst;
    remove_live(c, cut == Cut::gone);
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
    if (c->comes_back) {
        c->cut_at = Clock::now();
        schedule_resume(c);
    }
}

Driver::Cut Driver::plan_cut(const ClientPtr& c, Cut cut, const char* how)
{
    // Only a member with a token it knows to be live can resume: in a room, nothing pending.
    if (!c->room() || c->token.empty() || c->pending != Client::Pending::none)
        cut = Cut::gone;
    c->note(std::string(how) + (cut == Cut::resume ? ", will resume"
                                : cut == Cut::fail ? ", will fail resume"
                                                   : ""));
    const bool suspended = count_cut(*c);
    if (cut == Cut::gone) {
        if (suspended)
            ++stats_.expiries_certain;
        if (c->room())
            ++stats_.cuts_expired;
        forget(c, how);
    } else {
        ++stats_.cuts_resumed;
        c->comes_back = true;
        c->fail_resume = cut == Cut::fail;
    }
    return cut;
}

void Driver::finish_drop(const ClientPtr& c)
{
    c->after_flush = Client::Then::nothing;
    c->state = Client::State::dead;
    kill_socket(*c, c->drop_with_rst);
    last_activity_ = Clock::now();
    closing_.erase(c.get());
    if (c->comes_back) {
        c->cut_at = Clock::now();
        schedule_resume(c);
    }
}

bool Driver::count_cut(const Client& c)
{
    // The server suspends a member whose connection is lost. Whether it was one when the cut
    // came is unknown only if a join from no room or a leave was still on its way (a switch
    // suspends it in one room or the other).
    if (c.pending == Client::Pending::leave || c.pending == Client::Pending::resume ||
        (c.pending == Client::Pending::join && !c.room())) {
        ++stats_.suspensions_maybe;
        return false;
    }
    if (!c.room())
        return false;
    ++stats_.suspensions_certain;
    return true;
}

void Driver::cut(const ClientPtr& c, bool rst)
{
    const std::size_t plan = pick(20);
    if (plan < 12)
        drop(c, rst, Cut::resume);
    else if (plan < 13)
        drop(c, rst, Cut::fail);
    else if (plan < 18)
        drop(c, rst, Cut::gone);
    else
        take_over(c);
}

void Driver::schedule_resume(const ClientPtr& old)
{
    ++scheduled_resumes_;
    const auto within = old->resume_within.count() > 0 ? old->resume_within : max_resume_delay;
    const auto delay = std::chrono::milliseconds(20 + pick(within.count() - 20));
    auto timer = std::make_shared<net::steady_timer>(ioc_, delay);
    resume_timers_.push_back(timer);
    timer->async_wait([this, old, timer](error_code ec) {
        std::erase(resume_timers_, timer);
        if (ec)
            return; // the driver is aborting
        --scheduled_resumes_;
        start_resumer(old);
    });
}

void Driver::start_resumer(const ClientPtr& old)
{
    // The same member on a new connection: its view, its sequence numbers and its token go on.
    auto c = std::make_shared<Client>(ioc_, next_serial_++, false);
    c->id = old->id;
    c->view = old->view;
    c->next_seq = old->next_seq;
    c->last_seq = old->last_seq;
    c->token = old->token;
    c->trail = old->trail;
    c->resumes = true;
    c->fail_resume = old->fail_resume;
    // A resumer whose own connection was cut before it sent its resume tries again with the
    // count it was going to send.
    c->resume_received = old->resumes ? old->resume_received : old->received;
    c->cut_at = old->cut_at;
    c->note("resumes #" + std::to_string(old->serial) + " after " +
            std::to_string(c->resume_received));
    c->taken_over = old->expected_close_code == 4001 ? old : old->taken_over;
    open_connection(c);
}

void Driver::take_over(const ClientPtr& c)
{
    // Resume while the old connection is still open (as if it were half-open): the server must
    // end it with close 4001, suspend the member and resume it on the new one. It starts when
    // the read under way ends (on_read): from then on the old connection reads nothing, so it
    // answers no ping that would acknowledge a message it did not count.
    if (c->takeover_pending)
        return;
    c->takeover_pending = true;
    c->note("take over when the read ends");
}

void Driver::finish_take_over(const ClientPtr& c)
{
    c->takeover_pending = false;
    ++stats_.takeovers;
    ++stats_.cuts_resumed;
    count_cut(*c);
    c->note("take over");
    c->state = Client::State::closing;
    c->expected_close_code = 4001;
    c->fail_resume = false;
    closing_.emplace(c.get(), c);
    remove_live(c, false);
    arm_close_deadline(c);
    start_resumer(c);
}

void Driver::kill_socket(Client& c, bool rst)
{
    error_code ignored;
    auto& socket = beast::get_lowest_layer(c.socket->ws).socket();
    if (rst && socket.is_open())
        socket.set_option(net::socket_base::linger(true, 0), ignored);
    beast::get_lowest_layer(c.socket->ws).close();
    c.socket->close_timer.cancel();
}

void Driver::remove_live(const ClientPtr& c, bool replace)
{
    const auto found = std::find(live_.begin(), live_.end(), c);
    if (found != live_.end()) {
        *found = live_.back();
        live_.pop_back();
    }
    if (replace && replenish_ && !c->probe)
        start_client(false); // reconnects as a new client with a new clientId
}

void Driver::abort_everything()
{
    replenish_ = false;
    for (const auto& timer : std::vector(resume_timers_))
        timer->cancel();
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

void Driver::misbehave(const ClientPtr& c)
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
        c->socket->ws.binary(true);
        send(c, "\x01\x02binary");
    } else if (kind == 1) {
        send(c, "{\"action\":\"join\",\"roomId\":\"\xff\xfe\"}");
    } else {
        send(c, std::string(65537, ' '));
    }
}

void Driver::check_server_close(const ClientPtr& c, error_code ec)
{
    const auto code = c->socket->ws.reason().code;
    if (c->expected_close_code == 4001) {
        // A takeover: the old connection takes writes, so the close frame must come.
        if (code == 4001)
            ++stats_.takeover_4001;
        else
            problem("takeover-close", "expected close 4001 on the connection taken over, got " +
                                          ec.message() + " (close code " + std::to_string(code) +
                                          ") " + c->describe());
        return finish_close(c);
    }
    // The close frame must carry the expected code. No frame at all is allowed: a server
    // that refuses an oversized message after its header closes with data of ours unread,
    // so its kernel resets the connection, and one whose close goes unanswered for its 2 s
    // close deadline (a slow driver, in the ASan build) cuts the socket.
    if (code == c->expected_close_code)
        ++stats_.server_close_codes_seen;
    else if (code != 0 || ec == websocket::error::closed)
        problem("server-close-code", "expected close " + std::to_string(c->expected_close_code) +
                                         ", got " + ec.message() + " (close code " +
                                         std::to_string(code) + ") " + c->describe());
    finish_close(c);
}

} // namespace signald::test::chaos

namespace signald::test::chaos {

// ---- a node killed ----

void Driver::kill_node(std::size_t node)
{
    nodes_.kill(node);
    ++stats_.node_kills;
    // Its connections are gone: the kernel has reset them. The driver closes its ends now, so
    // that no handler reports them as failures, and decides how each member goes on.
    for (const auto& c : std::vector(live_)) {
        if (c->node != node || c->state == Client::State::dead)
            continue;
        ++stats_.victims;
        if (c->state == Client::State::connecting)
            lose_connecting(c);
        else
            lose_open(c);
    }
    std::vector<ClientPtr> closing;
    for (const auto& [raw, c] : closing_)
        if (c->node == node)
            closing.push_back(c);
    for (const auto& c : closing) {
        ++stats_.victims;
        lose_closing(c);
    }
    last_activity_ = Clock::now();
}

void Driver::lose_open(const ClientPtr& c)
{
    c->takeover_pending = false;
    // A resume on its way may have reached the leader (then the member is suspended again by
    // the kill, and expires) or not (it stays suspended, and expires): the server counted a
    // resume, or a failure, or neither.
    if (c->pending == Client::Pending::resume)
        ++stats_.resumes_maybe;
    const bool certain =
        c->room() && c->pending != Client::Pending::leave && c->pending != Client::Pending::resume;
    const std::size_t roll = pick(10);
    const Cut wanted = roll < 6 ? Cut::resume : roll < 7 ? Cut::fail : Cut::gone;
    const Cut cut = plan_cut(c, wanted, "its node was killed");
    if (certain && !c->id.empty())
        victims_killed_at_[c->id] = Clock::now();
    if (c->room())
        ++(cut == Cut::gone ? stats_.victims_gone : stats_.victims_resumed);
    c->state = Client::State::dead;
    kill_socket(*c, true);
    remove_live(c, cut == Cut::gone);
    if (c->comes_back) {
        c->resume_within = max_victim_resume_delay;
        // Its grace period starts when the cluster declares the node dead, at most
        // --node-timeout + 1 s from now: only a resume-failed after that plus the grace period
        // may be an expiry that won the race against a slow driver.
        c->cut_at = Clock::now() + nodes_.node_timeout() + 1s;
        schedule_resume(c);
    }
}

void Driver::lose_connecting(const ClientPtr& c)
{
    --connecting_;
    c->state = Client::State::dead;
    kill_socket(*c, true);
    remove_live(c, !c->resumes);
    // A resumer that had not sent its resume yet: the member is still suspended (or still
    // connected elsewhere, for a takeover), so it tries again on a node that is up.
    if (c->resumes) {
        ++stats_.victim_retries;
        start_resumer(c);
    }
}

void Driver::lose_closing(const ClientPtr& c)
{
    if (c->after_flush == Client::Then::drop)
        return finish_drop(c); // a cut already counted; what it queued is lost with the node
    // A clean close, or a server's close after misbehaving, that the leader may not have heard
    // of: then the kill suspends the member instead, and it expires. (The connection a takeover
    // ends was suspended by the takeover already.)
    if (c->expected_close_code != 4001 && c->maybe_member)
        ++stats_.suspensions_maybe;
    finish_close(c);
}

} // namespace signald::test::chaos
