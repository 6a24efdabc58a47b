#include "signald/net/socket_reactor.hpp"

#include <sys/epoll.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <system_error>

namespace signald {
namespace {

// Events taken from the kernel per turn of the loop: enough that a busy server takes a turn's
// worth in one call, few enough that timers and posted work are not kept waiting for long.
constexpr int events_per_turn = 256;

int make_epoll()
{
    const int fd = ::epoll_create1(EPOLL_CLOEXEC);
    if (fd < 0)
        throw std::system_error(errno, std::generic_category(), "epoll_create1");
    return fd;
}

} // namespace

struct SocketReactor::State : std::enable_shared_from_this<State>
{
    explicit State(Executor executor) : epoll(executor, make_epoll()) {}

    void wait()
    {
        if (waiting || registered == 0)
            return;
        waiting = true;
        epoll.async_wait(net::posix::descriptor_base::wait_read,
                         [self = shared_from_this()](error_code ec) { self->on_wait(ec); });
    }

    void on_wait(error_code ec)
    {
        waiting = false;
        if (stopped)
            return;
        if (!ec)
            dispatch();
        wait(); // again while anything is registered (also after a cancel that raced an add)
    }

    void dispatch()
    {
        // Not zeroed: the kernel fills what it returns, and the rest is never read.
        std::array<epoll_event, events_per_turn>
            events; // NOLINT(cppcoreguidelines-pro-type-member-init)
        const int count = ::epoll_wait(epoll.native_handle(), events.data(), events_per_turn, 0);
        for (int i = 0; i < count; ++i) {
            auto* watcher = static_cast<Watcher*>(events[i].data.ptr);
            // Removed earlier in this batch: still alive (let go of after it), and ignored.
            if (!watcher->owner_)
                continue;
            const std::uint32_t what = events[i].events;
            watcher->on_ready((what & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0,
                              (what & (EPOLLOUT | EPOLLHUP | EPOLLERR)) != 0,
                              (what & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0);
        }
    }

    void link(Watcher& watcher)
    {
        watcher.next_ = head;
        watcher.prev_ = nullptr;
        if (head != nullptr)
            head->prev_ = &watcher;
        head = &watcher;
        ++registered;
    }

    void unlink(Watcher& watcher)
    {
        if (watcher.prev_ != nullptr)
            watcher.prev_->next_ = watcher.next_;
        else
            head = watcher.next_;
        if (watcher.next_ != nullptr)
            watcher.next_->prev_ = watcher.prev_;
        watcher.prev_ = watcher.next_ = nullptr;
        --registered;
    }

    net::posix::basic_stream_descriptor<Executor> epoll;
    Watcher* head = nullptr; // every registered watcher, to let go of at the end
    std::size_t registered = 0;
    bool waiting = false;
    bool stopped = false;
};

SocketReactor::SocketReactor(Executor executor)
    : executor_(executor), state_(std::make_shared<State>(executor))
{}

SocketReactor::~SocketReactor()
{
    // Sessions still registered (the io_context was stopped with connections open) go now; their
    // destructors only close their sockets.
    state_->stopped = true;
    while (state_->head != nullptr) {
        Watcher& watcher = *state_->head;
        state_->unlink(watcher);
        auto owner = std::move(watcher.owner_);
    }
    error_code ignored;
    state_->epoll.cancel(ignored);
}

error_code SocketReactor::add(int fd, std::shared_ptr<Watcher> watcher)
{
    epoll_event event{};
    event.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    event.data.ptr = watcher.get();
    if (::epoll_ctl(state_->epoll.native_handle(), EPOLL_CTL_ADD, fd, &event) != 0)
        return {errno, boost::system::system_category()};
    Watcher& registered = *watcher;
    registered.owner_ = std::move(watcher);
    state_->link(registered);
    state_->wait();
    return {};
}

void SocketReactor::close(int fd, Watcher& watcher)
{
    ::close(fd);
    if (!watcher.owner_)
        return;
    state_->unlink(watcher);
    // Let go after the batch under way, which may still hold an event for it.
    net::post(executor_, [owner = std::move(watcher.owner_)] {});
    if (state_->registered == 0 && state_->waiting) {
        error_code ignored;
        state_->epoll.cancel(ignored); // nothing to wait for: let run() return
    }
}

std::size_t SocketReactor::size() const
{
    return state_->registered;
}

} // namespace signald
