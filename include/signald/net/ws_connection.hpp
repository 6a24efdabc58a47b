#pragma once
// WsConnection: the life of one WebSocket connection after the upgrade (close handshake, linger,
// slow consumer, idle timeout, pings, detach), free of sockets so it can be unit-tested and
// fuzzed like ws_frames. A WsPlainSession or WsTlsSession owns one, reports what its socket did
// (the inputs below) and carries out what it is asked through WsConnection::Io. It never touches
// a socket or a timer itself; inside send and close (called from the hub's fan-out) it only
// counts, and a detach it decides there is posted.
//
// Phases only move forward:
//   open      --close(code), slow consumer-->                          closing
//   open      --peer's close frame (echoed), broken rule (failed)-->   finishing
//   closing   --peer's close frame (our close answered), broken rule-> finishing
//   finishing --queue written out (drained)-->                         lingering
//   open, closing --abort (a resume took the membership over)-->         finishing, then done
//   any       --idle timeout, write failure, end of input, close deadline-->                 done
// open: text flows both ways. closing: our close frame is queued, nothing more goes out after it,
// and we still read for the peer's answer. finishing: nothing more is read; what is queued goes
// out, then our side shuts down (FIN or close_notify). lingering: our side is shut down; reads
// only wait for the peer's FIN and throw the bytes away. done: the socket is cut.
// Beside the phase, two latches: the hub hears detach() once, and the end is counted once.
//
// Pings carry the count of text messages sent before them; the pong that echoes one of the two
// latest pings tells the hub that the client has all of those (WsHost::acknowledged), which
// resume relies on. Any other pong acknowledges nothing.

#include "signald/core/ids.hpp"
#include "signald/net/metrics.hpp"
#include "signald/net/ws_frames.hpp"
#include "signald/net/ws_host.hpp"

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace signald {

enum class WsPhase : std::uint8_t
{
    open,
    closing,
    finishing,
    lingering,
    done,
};

class WsConnection final : private WsEvents
{
public:
    using Clock = std::chrono::steady_clock;

    // A close frame stuck behind a write the peer never reads would wait forever; after this the
    // socket is simply cut.
    static constexpr std::chrono::seconds close_deadline{2};
    // With resume on, a connection sent this many texts since its last answered ping is pinged
    // right behind the last of them (and at the next sweep if fewer): a busy member then holds
    // a few dozen messages for a resume rather than a second's worth. 32: at most one ping and
    // pong per 32 messages, a few percent more frames at the fan-out ceiling.
    static constexpr std::uint64_t ack_every_texts = 32;
    // Past this much queued in one batch, writing starts at once instead of after the batch.
    static constexpr std::size_t eager_write_bytes = std::size_t{64} * 1024;

    // What the connection asks of the I/O driver under it. Each call only starts something; how
    // it ends comes back as an input (written, write_done, write_failed, end_of_input, ...).
    class Io
    {
    public:
        virtual ~Io() = default;
        // Write unsent() once the handlers already waiting have queued theirs: one system call
        // for a whole batch. Nothing to do while writing().
        virtual void write_soon() = 0;
        // Hand the kernel what it takes now (a big backlog), then wait for room for the rest.
        virtual void write_now() = 0;
        // Our side is finished: FIN (behind close_notify over TLS), then wait for the peer's.
        virtual void shut_down() = 0;
        // Cut the TCP connection: every pending operation fails; cancels the close deadline.
        virtual void cut() = 0;
        // Call close_deadline_passed() after close_deadline. Asked again later: no effect.
        virtual void arm_close_deadline() = 0;
        // Call slow_consumer_detach() soon, outside the fan-out that is running now.
        virtual void post_detach() = 0;
    };

    // over_tls: only for the "connected" log line.
    WsConnection(WsHost& host, Io& io, std::string peer_address, bool over_tls);

    // --- Inputs from the session ---
    // Attached to the hub as id: from now on the hub hears of it (detach once).
    void start(ClientId id, Clock::time_point now);
    // Bytes read from the peer (unmasked in place). Ignored unless reading().
    void receive(std::span<char> bytes, Clock::time_point now);
    // Connection::send / close / keepalive.
    void send(std::string_view text);
    void close(std::uint16_t code);
    // Connection::abort: our close frame if the socket takes it, then the cut; no detach.
    // Returns whether it was open (no close under way).
    bool abort(std::uint16_t code, std::string_view reason);
    // Connection::rebind: the hub knows this connection as id from now on.
    void rebind(ClientId id) { id_ = std::move(id); }
    std::uint64_t texts() const { return texts_; }
    void tick(Clock::time_point now);
    // The driver took count bytes from the front of unsent(): the kernel took them, or TLS
    // encrypted them.
    void written(std::size_t count);
    // A write is outstanding: the socket must drain first. in_flight: bytes taken from the queue
    // but not yet by the kernel (TLS records); the slow-consumer cap counts them.
    void write_pending(std::size_t in_flight);
    void write_done();
    void write_failed();
    // Nothing is queued and no write is outstanding.
    void drained();
    // The peer's stream ended: EOF (or close_notify), an error, or our own cut.
    // error: what to log when it was not a clean end of stream.
    void end_of_input(bool clean_eof, std::string_view error);
    void close_deadline_passed();
    void slow_consumer_detach();

    // --- Outputs ---
    WsPhase phase() const { return phase_; }
    // Whether bytes read are to be handed to receive(); while lingering they are thrown away.
    bool reading() const { return phase_ == WsPhase::open || phase_ == WsPhase::closing; }
    bool lingering() const { return phase_ == WsPhase::lingering; }
    std::string_view unsent() const { return out_.unsent(); }
    bool writing() const { return writing_; }
    bool attached() const { return attached_; }
    const ClientId& id() const { return id_; }
    const std::string& peer_address() const { return peer_address_; }
    WsHost& host() const { return host_; }

private:
    void on_text(std::string_view text) override;
    void on_ping(std::string_view payload) override;
    void on_pong(std::string_view payload) override;
    void on_close(std::uint16_t code, std::string_view reason) override;

    // Queues a ping carrying the count of texts sent so far.
    void ping();
    // Fails the connection: close frame with code, then our side is shut.
    void fail(std::uint16_t code);
    // Queues a close frame behind whatever is queued; nothing is sent after it.
    void queue_close(std::uint16_t code);
    // Ends the connection after the close frames: our side shut, then wait for the peer's.
    void finish();
    void cut();
    void advance(WsPhase to);
    void detach(std::string_view why, ConnectionEnd end);
    // Counts how the connection ended, the first time only: the side that ended it first.
    void count_close(ClosedBy by, std::uint16_t code);
    // Reports the queue's depth after an append, for the high-water mark.
    void queued();

    // Every connection has one, idle or not: members are ordered so that the small ones share
    // one word rather than each padding its own.
    WsHost& host_;
    Io& io_;
    std::string peer_address_;
    ClientId id_;
    WsReceiver receiver_;
    OutboundFrames out_;
    Clock::time_point last_heard_;
    Clock::time_point last_ping_;
    std::uint64_t texts_ = 0; // text messages queued, or dropped once closing
    // texts_ when each of the two latest unanswered pings went out, newest first: a pong that
    // crossed the next ping on the wire still acknowledges what preceded its own ping.
    std::array<std::uint64_t, 2> pinged_texts_{none, none};
    static constexpr std::uint64_t none = UINT64_MAX;
    std::uint64_t acked_texts_ = 0; // what the latest answered ping covered
    // TLS records waiting for the kernel (write_pending); at most 4 GiB counted. 32 bits, and
    // one bit for each flag, so that the last word holds them all.
    std::uint32_t in_flight_ = 0;
    std::uint16_t close_code_ = 0; // the code we closed with, 0 if we did not start the close
    WsPhase phase_ = WsPhase::open;
    bool over_tls_ : 1;
    bool writing_ : 1 = false;
    bool cut_when_drained_ : 1 = false; // aborted: no close handshake, no linger
    bool attached_ : 1 = false;
    bool close_counted_ : 1 = false;
};

} // namespace signald
