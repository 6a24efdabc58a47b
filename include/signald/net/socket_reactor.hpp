#pragma once
// SocketReactor: one epoll set of our own for the WebSocket connections' sockets, watched by the
// io_context as a single descriptor. Asio 1.74 keeps a descriptor_state of its reactor (about 170
// bytes) for every socket it knows, a pending operation (about 80) for every wait, and a 40-byte
// socket object; a connection that mostly sleeps pays some 300 bytes for them. Here a socket is a
// file descriptor, registered once, edge-triggered, for reading and writing at the same time, so
// a wait is a flag and costs no system call; the io_context still runs everything, on its one
// thread, in its order.
//
// A watcher registered with add() is owned by the reactor until close(): the sessions live as
// long as their socket is open, whatever else holds them. close() lets go of it only after the
// batch of events being handled, so an event still queued for it finds it alive (and ignored).
// Once nothing is registered, nothing waits on the io_context, so run() can return.

#include "signald/net/beast.hpp"

#include <cstddef>
#include <memory>

namespace signald {

class SocketReactor
{
public:
    class Watcher
    {
    public:
        // The socket became readable (data, the peer's FIN or an error) and/or writable (room in
        // its send buffer, or an error). Edge-triggered: only changes are reported. ended: the
        // peer's FIN or an error is among them. A read that returns less than asked has taken
        // all the data, but not a FIN or an error behind it, whose edge is then already gone.
        virtual void on_ready(bool readable, bool writable, bool ended) = 0;

    protected:
        ~Watcher() = default;

    private:
        friend class SocketReactor;
        std::shared_ptr<Watcher> owner_; // while registered: the reactor's hold on it
        Watcher* prev_ = nullptr;
        Watcher* next_ = nullptr;
    };

    explicit SocketReactor(Executor executor);
    ~SocketReactor();
    SocketReactor(const SocketReactor&) = delete;
    SocketReactor& operator=(const SocketReactor&) = delete;

    // Watches fd for watcher, and holds watcher until close(). Returns the kernel's refusal
    // (out of memory, the user's epoll watch limit, fd not a socket), holding nothing then: one
    // connection that cannot be watched must not take the io_context, and the server, down.
    [[nodiscard]] error_code add(int fd, std::shared_ptr<Watcher> watcher);
    // Closes fd, which takes it out of the epoll set (no other descriptor shares its file: a
    // system call less than EPOLL_CTL_DEL first), and lets go of watcher once the current batch
    // of events is handled. Only closes fd if watcher is not registered.
    void close(int fd, Watcher& watcher);

    Executor executor() const { return executor_; }
    std::size_t size() const;

private:
    struct State;

    Executor executor_;
    std::shared_ptr<State> state_; // shared with the pending wait, which may outlive this
};

} // namespace signald
