#include "ws_target.hpp"

#include <boost/asio/io_context.hpp>

#include <stdexcept>

namespace bench {

WsTarget parse_ws_url(const std::string& url)
{
    const bool tls = url.compare(0, 6, "wss://") == 0;
    const std::string scheme = tls ? "wss://" : "ws://";
    if (url.compare(0, scheme.size(), scheme) != 0)
        throw std::runtime_error("--url must start with ws:// or wss:// (got \"" + url + "\")");
    const auto authority_end = url.find('/', scheme.size());
    const std::string authority = url.substr(scheme.size(), authority_end - scheme.size());
    const auto colon = authority.rfind(':');
    if (colon == std::string::npos || colon + 1 == authority.size())
        throw std::runtime_error("--url needs an explicit port (got \"" + url + "\")");
    std::string host = authority.substr(0, colon);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']')
        host = host.substr(1, host.size() - 2);
    const std::string port = authority.substr(colon + 1);

    boost::asio::io_context io;
    boost::asio::ip::tcp::resolver resolver(io);
    boost::system::error_code ec;
    const auto results = resolver.resolve(host, port, ec);
    if (ec || results.empty())
        throw std::runtime_error("cannot resolve " + authority + ": " + ec.message());

    WsTarget target;
    target.server = results.begin()->endpoint();
    target.host_header = authority;
    target.host = host;
    target.tls = tls;
    target.path = authority_end == std::string::npos ? "/" : url.substr(authority_end);
    return target;
}

std::vector<WsTarget> parse_ws_urls(const std::string& list)
{
    std::vector<WsTarget> targets;
    std::size_t at = 0;
    while (at <= list.size()) {
        const auto comma = list.find(',', at);
        const std::string item = list.substr(at, comma - at);
        at = comma == std::string::npos ? list.size() + 1 : comma + 1;
        if (!item.empty())
            targets.push_back(parse_ws_url(item));
    }
    if (targets.empty())
        throw std::runtime_error("--url is empty");
    return targets;
}

std::vector<boost::asio::ip::address> parse_sources(const std::string& list)
{
    std::vector<boost::asio::ip::address> sources;
    std::size_t at = 0;
    while (at <= list.size()) {
        const auto comma = list.find(',', at);
        const std::string item = list.substr(at, comma - at);
        at = comma == std::string::npos ? list.size() + 1 : comma + 1;
        if (item.empty())
            continue;
        boost::system::error_code ec;
        const auto address = boost::asio::ip::make_address(item, ec);
        if (ec)
            throw std::runtime_error("--sources: \"" + item + "\" is not an IP address");
        sources.push_back(address);
    }
    if (sources.empty())
        throw std::runtime_error("--sources is empty");
    return sources;
}

} // namespace bench
