// The alert rules (config/prometheus/signald-rules.yml) and the Grafana dashboard
// (config/grafana/signald.json) name only metrics a real signald exports: a renamed family would
// otherwise leave an alert that can never fire and a panel that stays empty, silently. The server
// runs with every option that brings a family of its own (TLS, --redis on a real redis-server,
// TURN), and its scrape must hold every signald_* name the two files mention.

#include "exposition.hpp"
#include "redis_process.hpp"
#include "signald_process.hpp"
#include "tls_client.hpp"

#include <gtest/gtest.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <string_view>

namespace signald::test {
namespace {

std::string read_source_file(const std::string& relative)
{
    std::ifstream in(std::filesystem::path(SIGNALD_SOURCE_DIR) / relative);
    EXPECT_TRUE(in) << "cannot read " << relative;
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

bool is_name_char(char c)
{
    return std::islower(static_cast<unsigned char>(c)) ||
           std::isdigit(static_cast<unsigned char>(c)) || c == '_';
}

// Every metric name in text: `signald_` and what follows of [a-z0-9_], when not the tail of a
// longer name. Recording rules are named signald:..., so they are not taken for metrics.
std::set<std::string> metric_names_in(const std::string& text)
{
    std::set<std::string> names;
    const std::string prefix = "signald_";
    for (auto at = text.find(prefix); at != std::string::npos; at = text.find(prefix, at + 1)) {
        if (at > 0 && (is_name_char(text[at - 1]) || text[at - 1] == ':' ||
                       std::isupper(static_cast<unsigned char>(text[at - 1]))))
            continue;
        auto end = at + prefix.size();
        while (end < text.size() && is_name_char(text[end]))
            ++end;
        names.insert(text.substr(at, end - at));
    }
    return names;
}

// A histogram or summary is exported as one family and queried by its series' suffixes.
bool exported(const Exposition& scrape, const std::string& name)
{
    if (scrape.types.contains(name))
        return true;
    for (const std::string_view suffix : {"_bucket", "_sum", "_count"})
        if (name.ends_with(suffix) &&
            scrape.types.contains(name.substr(0, name.size() - suffix.size())))
            return true;
    return false;
}

TEST(MonitoringNames, TheNameScannerFindsWholeNamesOnly)
{
    EXPECT_EQ(metric_names_in(R"(rate(signald_a_total{job="signald"}[5m]) / signald_b )"
                              R"(record: signald:c:rate5m x_signald_d "signald_e")"),
              (std::set<std::string>{"signald_a_total", "signald_b", "signald_e"}));
}

TEST(MonitoringNames, EveryMetricTheRulesAndTheDashboardUseIsExported)
{
    const auto rules = metric_names_in(read_source_file("config/prometheus/signald-rules.yml"));
    const auto dashboard = metric_names_in(read_source_file("config/grafana/signald.json"));
    // Enough names that an empty or misread file cannot pass: every area of both files.
    ASSERT_GE(rules.size(), 12u);
    ASSERT_GE(dashboard.size(), 30u);

    TempDir dir;
    dir.write("web/index.html", "<!doctype html>\n");
    // A literal, not std::string(40, 's') + "\n": GCC 12 at -O2 warns falsely (-Warray-bounds)
    // about that concatenation.
    const auto secret = dir.write("turn-secret", "ssssssssssssssssssssssssssssssssssssssss\n");
    RedisProcess redis;
    // A TURN URL nobody answers on loopback (port 9, discard): the TURN check families appear.
    SignaldProcess server(server_args(
        dir.path() / "web", {"--tls-self-signed", "--redis", redis.url(), "--node-id", "monitoring",
                             "--ice-server", "turn:127.0.0.1:9?transport=udp", "--turn-secret-file",
                             secret.string(), "--max-queue-bytes", "1048576"}));

    // Its families have samples once the first check is over (it fails at once: ICMP).
    ASSERT_TRUE(server.wait_for_stderr("TURN turn:127.0.0.1:9?transport=udp failed"));

    HttpsClient client(TlsTrust{}); // self-signed: no verification, only the scrape matters
    client.connect(server.port());
    const auto response = client.request("GET", "/metrics");
    ASSERT_EQ(response.result_int(), 200);
    const Exposition scrape = parse_exposition(response.body());
    EXPECT_TRUE(scrape.problems.empty());
    // The families TLS and --redis bring are there, or the run proves nothing about their names.
    ASSERT_TRUE(scrape.types.contains("signald_tls_certificate_expiry_seconds"));
    ASSERT_TRUE(scrape.types.contains("signald_redis_up"));
    // The cap the write-queue alert compares with is the configured one.
    EXPECT_EQ(scrape.at("signald_write_queue_limit_bytes"), 1048576);

    std::map<std::string, std::string> used; // name -> the file that uses it
    for (const auto& name : rules)
        used[name] = "config/prometheus/signald-rules.yml";
    for (const auto& name : dashboard)
        used.emplace(name, "config/grafana/signald.json");
    for (const auto& [name, file] : used)
        EXPECT_TRUE(exported(scrape, name)) << file << " uses " << name << ", which signald "
                                            << "does not export";
}

} // namespace
} // namespace signald::test
