#include "signald/core/rooms.hpp"

#include <gtest/gtest.h>

namespace signald {
namespace rooms_test {

TEST(RoomRegistry, MembersStayInJoinOrder)
{
    RoomRegistry rooms;
    rooms.add("r", Member{"a", std::nullopt});
    rooms.add("r", Member{"b", "Bea"});
    rooms.add("r", Member{"c", std::nullopt});
    rooms.remove("r", "b");
    const auto members = rooms.members("r");
    ASSERT_EQ(members.size(), 2u);
    EXPECT_EQ(members[0].client_id, "a");
    EXPECT_EQ(members[1].client_id, "c");
}

TEST(RoomRegistry, RoomIsDeletedWhenItsLastMemberLeaves)
{
    RoomRegistry rooms;
    rooms.add("r", Member{"a", std::nullopt});
    rooms.add("s", Member{"b", std::nullopt});
    rooms.remove("r", "a");
    EXPECT_EQ(rooms.room_count(), 1u);
    EXPECT_TRUE(rooms.members("r").empty());
    EXPECT_EQ(rooms.member_count(), 1u);
}

TEST(RoomRegistry, RemovingSomeoneAbsentChangesNothing)
{
    RoomRegistry rooms;
    rooms.add("r", Member{"a", std::nullopt});
    rooms.remove("r", "zzz");
    rooms.remove("nope", "a");
    EXPECT_TRUE(rooms.contains("r", "a"));
    EXPECT_EQ(rooms.room_count(), 1u);
}

} // namespace rooms_test
} // namespace signald
