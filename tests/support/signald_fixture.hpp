#pragma once
// SignaldFixture: what most integration tests set up first: a scratch web root holding an
// index.html, one real signald serving it on 127.0.0.1 port 0, and WebSocket clients connected to
// it. Tests derive their fixture from it and add their own clients and checks; it asserts nothing.
//
// With SIGNALD_TEST_CLUSTER=N in the environment (CTest's `cluster` label sets it), the same
// tests run against a cluster instead: a real redis-server and N nodes, and port() hands out the
// nodes' ports in turn, so each test's clients are spread over the nodes (docs/cluster.md).

#include "redis_process.hpp"
#include "signald_process.hpp"
#include "ws_client.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace signald::test {

class SignaldFixture : public ::testing::Test
{
protected:
    // Writes index.html, so the server starts: it refuses a web root without one.
    SignaldFixture();

    // Starts signald with server_args(web_root_, extra) and env; once per test, after the web root
    // holds what the test needs. Throws (with the server's stderr) if it does not come up.
    void start_server(std::vector<std::string> extra = {}, EnvChanges env = {});

    // The server's port; in a cluster, the next node's, in turn.
    std::uint16_t port() const;
    // A plain WebSocket client, upgraded on /ws and in no room yet.
    std::unique_ptr<WsClient> connect();
    // signald_rejections_total{reason="<reason>"} from /metrics; nullopt while nothing was refused.
    std::optional<double> rejections(std::string_view reason) const;

    TempDir web_root_;
    std::unique_ptr<SignaldProcess> server_; // in a cluster, the first node (the leader)

private:
    std::unique_ptr<RedisProcess> redis_;
    std::vector<std::unique_ptr<SignaldProcess>> other_nodes_;
    mutable std::size_t next_node_ = 0;
};

} // namespace signald::test
