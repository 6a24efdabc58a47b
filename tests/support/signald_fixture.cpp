#include "signald_fixture.hpp"
#include "http_client.hpp"

namespace signald::test {

SignaldFixture::SignaldFixture()
{
    web_root_.write("index.html", "<!doctype html>\n");
}

void SignaldFixture::start_server(std::vector<std::string> extra, EnvChanges env)
{
    server_ = std::make_unique<SignaldProcess>(server_args(web_root_.path(), std::move(extra)),
                                               std::move(env));
}

std::unique_ptr<WsClient> SignaldFixture::connect()
{
    auto client = std::make_unique<WsClient>();
    client->connect(port());
    return client;
}

std::optional<double> SignaldFixture::rejections(std::string_view reason) const
{
    return metric(port(), "signald_rejections_total{reason=\"" + std::string(reason) + "\"}");
}

} // namespace signald::test
