// SocketReactor over socket pairs: a registered watcher hears its socket become readable and
// writable (edge-triggered: changes only), is held alive while registered, hears nothing once
// its socket is closed (not even an event of the batch under way, for which it is still alive), and
// the io_context's run() returns once nothing is registered.

#include "signald/net/socket_reactor.hpp"

#include <gtest/gtest.h>

#include <sys/socket.h>
#include <cstdlib>
#include <unistd.h>

#include <array>
#include <functional>
#include <memory>
#include <vector>

namespace signald {
namespace socket_reactor_test {

struct Pair
{
    Pair()
    {
        std::array<int, 2> fds{};
        EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds.data()),
                  0);
        ours = fds[0];
        theirs = fds[1];
    }
    ~Pair()
    {
        if (ours >= 0)
            ::close(ours);
        if (theirs >= 0)
            ::close(theirs);
    }
    int ours = -1;
    int theirs = -1;
};

struct Recorder final : SocketReactor::Watcher
{
    void on_ready(bool readable, bool writable, bool ended) override
    {
        events.push_back({readable, writable, ended});
        if (then)
            then(readable, writable, ended);
    }
    struct Event
    {
        bool readable;
        bool writable;
        bool ended;
    };
    std::vector<Event> events;
    std::function<void(bool, bool, bool)> then;
    ~Recorder() { *alive = false; }
    std::shared_ptr<bool> alive = std::make_shared<bool>(true);
};

void write_byte(int fd)
{
    const char byte = 'x';
    ASSERT_EQ(::write(fd, &byte, 1), 1);
}

TEST(SocketReactor, AWatcherHearsItsSocketAndRunReturnsOnceItIsClosed)
{
    net::io_context ioc{1};
    SocketReactor reactor(ioc.get_executor());
    Pair pair;
    auto recorder = std::make_shared<Recorder>();
    Recorder& watcher = *recorder;
    const std::weak_ptr<Recorder> weak = recorder;
    ASSERT_FALSE(reactor.add(pair.ours, std::move(recorder)));
    EXPECT_FALSE(weak.expired()) << "the reactor holds a registered watcher";
    EXPECT_EQ(reactor.size(), 1u);

    // Registered: writable at once (edge-triggered reports the state at registration).
    ioc.poll();
    ASSERT_FALSE(watcher.events.empty());
    EXPECT_TRUE(watcher.events.back().writable);
    EXPECT_FALSE(watcher.events.back().readable);

    // The peer writes: readable. After reading it all, the peer writes again: readable again.
    watcher.events.clear();
    write_byte(pair.theirs);
    ioc.poll();
    ASSERT_EQ(watcher.events.size(), 1u);
    EXPECT_TRUE(watcher.events[0].readable);
    char sink[16];
    EXPECT_EQ(::read(pair.ours, sink, sizeof sink), 1);
    write_byte(pair.theirs);
    ioc.poll();
    EXPECT_EQ(watcher.events.size(), 2u);

    EXPECT_FALSE(watcher.events.back().ended);

    // The peer closes: readable, and ended (end of stream).
    ::close(pair.theirs);
    pair.theirs = -1;
    ioc.poll();
    EXPECT_TRUE(watcher.events.back().readable);
    EXPECT_TRUE(watcher.events.back().ended);

    // Closed: let go of, and nothing keeps run() from returning.
    reactor.close(pair.ours, watcher);
    pair.ours = -1;
    EXPECT_EQ(reactor.size(), 0u);
    ioc.restart();
    ioc.run_for(std::chrono::seconds(5));
    EXPECT_TRUE(ioc.stopped()) << "run() returned: nothing waits once nothing is registered";
    EXPECT_TRUE(weak.expired());
}

TEST(SocketReactor, AWatcherClosedDuringABatchHearsNothingMoreAndLivesUntilItsEnd)
{
    net::io_context ioc{1};
    SocketReactor reactor(ioc.get_executor());
    Pair first;
    Pair second;
    auto a = std::make_shared<Recorder>();
    auto b = std::make_shared<Recorder>();
    Recorder& wa = *a;
    Recorder& wb = *b;
    const auto a_alive = a->alive;
    const auto b_alive = b->alive;
    ASSERT_FALSE(reactor.add(first.ours, std::move(a)));
    ASSERT_FALSE(reactor.add(second.ours, std::move(b)));
    ioc.poll(); // the writable events of registration
    wa.events.clear();
    wb.events.clear();

    // Both become readable in one batch; whichever hears first closes the other.
    bool removed_other = false;
    const auto remove_other = [&](Recorder& other, int& fd) {
        return [&](bool, bool, bool) {
            if (removed_other)
                return;
            removed_other = true;
            reactor.close(fd, other);
            fd = -1;
        };
    };
    wa.then = remove_other(wb, second.ours);
    wb.then = remove_other(wa, first.ours);
    write_byte(first.theirs);
    write_byte(second.theirs);
    ioc.poll_one(); // one turn: one batch with both events
    ASSERT_EQ(wa.events.size() + wb.events.size(), 1u) << "the removed one heard nothing";
    EXPECT_EQ(reactor.size(), 1u);
    const auto& removed_alive = wa.events.empty() ? a_alive : b_alive;
    EXPECT_TRUE(*removed_alive) << "alive until the batch is over";
    ioc.poll(); // the removed one is let go of after the batch
    EXPECT_FALSE(*removed_alive);
}

TEST(SocketReactor, DestroyingTheReactorLetsGoOfWhatIsStillRegistered)
{
    net::io_context ioc{1};
    Pair pair;
    auto recorder = std::make_shared<Recorder>();
    const auto alive = recorder->alive;
    {
        SocketReactor reactor(ioc.get_executor());
        ASSERT_FALSE(reactor.add(pair.ours, std::move(recorder)));
        ioc.poll();
        EXPECT_TRUE(*alive);
    }
    EXPECT_FALSE(*alive);
    ioc.restart();
    ioc.run_for(std::chrono::seconds(5));
    EXPECT_TRUE(ioc.stopped());
}

TEST(SocketReactor, ADescriptorTheKernelWillNotWatchIsRefusedAndNothingIsHeld)
{
    // A regular file cannot join an epoll set (EPERM): add reports it, holds nothing, and the
    // io_context has nothing to wait for, where a throw would have ended run() and the server.
    net::io_context ioc{1};
    SocketReactor reactor(ioc.get_executor());
    char path[] = "/tmp/signald-reactor-XXXXXX";
    const int file = ::mkstemp(path);
    ASSERT_GE(file, 0);
    ::unlink(path);
    auto recorder = std::make_shared<Recorder>();
    const std::weak_ptr<Recorder> weak = recorder;
    const error_code ec = reactor.add(file, std::move(recorder));
    EXPECT_EQ(ec, boost::system::errc::operation_not_permitted) << ec.message();
    EXPECT_TRUE(weak.expired()) << "a refused watcher is not held";
    EXPECT_EQ(reactor.size(), 0u);
    ioc.run_for(std::chrono::seconds(5));
    EXPECT_TRUE(ioc.stopped()) << "nothing was left waiting";
    ::close(file);
}

} // namespace socket_reactor_test
} // namespace signald
