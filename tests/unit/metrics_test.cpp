// The network layer's metrics pieces: PrometheusText writes well-formed, escaped exposition text,
// and NetStats counts closes (bucketing clients' private codes) and the write-queue high water.

#include "signald/net/metrics.hpp"

#include <gtest/gtest.h>

#include <string>

namespace signald {
namespace metrics_test {

TEST(PrometheusText, WritesHelpAndTypeOnceThenEachSample)
{
    PrometheusText out;
    out.family("x_rooms", "gauge", "Rooms.");
    out.sample(3);
    out.family("x_things_total", "counter", "Things, by kind.");
    out.sample({{"kind", "a"}}, 1);
    out.sample({{"kind", "b"}, {"side", "server"}}, 18446744073709551615u);
    EXPECT_EQ(out.take(), "# HELP x_rooms Rooms.\n"
                          "# TYPE x_rooms gauge\n"
                          "x_rooms 3\n"
                          "# HELP x_things_total Things, by kind.\n"
                          "# TYPE x_things_total counter\n"
                          "x_things_total{kind=\"a\"} 1\n"
                          "x_things_total{kind=\"b\",side=\"server\"} 18446744073709551615\n");
}

TEST(PrometheusText, EscapesLabelValuesAndHelpText)
{
    PrometheusText out;
    out.family("x_total", "counter", "back\\slash \"quoted\"\nsecond line");
    out.sample({{"reason", "a\"b\\c\nd"}}, 0);
    EXPECT_EQ(out.take(), "# HELP x_total back\\\\slash \"quoted\"\\nsecond line\n"
                          "# TYPE x_total counter\n"
                          "x_total{reason=\"a\\\"b\\\\c\\nd\"} 0\n");
}

TEST(NetStats, CloseCodesAreLabelledAsSentButPrivateRangesAreBucketed)
{
    EXPECT_EQ(close_code_label(1000), "1000");
    EXPECT_EQ(close_code_label(1006), "1006");
    EXPECT_EQ(close_code_label(2999), "2999");
    EXPECT_EQ(close_code_label(3000), "3xxx");
    EXPECT_EQ(close_code_label(3999), "3xxx");
    EXPECT_EQ(close_code_label(4000), "4xxx");
    EXPECT_EQ(close_code_label(4999), "4xxx");

    NetStats stats;
    for (std::uint16_t code = 3000; code <= 4999; ++code)
        stats.count_close(ClosedBy::client, code);
    stats.count_close(ClosedBy::client, 1000);
    stats.count_close(ClosedBy::server, 1000);
    stats.count_close(ClosedBy::server, 1000);
    // 2,000 distinct client codes make two series, not 2,000.
    ASSERT_EQ(stats.closes().size(), 4u);
    EXPECT_EQ(stats.closes().at({ClosedBy::client, 3000}), 1000u);
    EXPECT_EQ(stats.closes().at({ClosedBy::client, 4000}), 1000u);
    EXPECT_EQ(stats.closes().at({ClosedBy::client, 1000}), 1u);
    EXPECT_EQ(stats.closes().at({ClosedBy::server, 1000}), 2u);
}

TEST(NetStats, QueueHighWaterOnlyRises)
{
    NetStats stats;
    EXPECT_EQ(stats.queue_high_water(), 0u);
    stats.note_queue_bytes(100);
    stats.note_queue_bytes(40);
    EXPECT_EQ(stats.queue_high_water(), 100u);
    stats.note_queue_bytes(101);
    EXPECT_EQ(stats.queue_high_water(), 101u);
}

} // namespace metrics_test
} // namespace signald
