// base64url (RFC 4648 5) without padding, strict on decoding: the spelling of resume and room
// tokens.

#include "signald/core/base64url.hpp"

#include <gtest/gtest.h>

namespace signald {
namespace base64url_test {

TEST(Base64url, EncodesTheRfcVectorsWithoutPadding)
{
    // RFC 4648 10, in the URL-safe alphabet and without '='.
    EXPECT_EQ(base64url::encode(""), "");
    EXPECT_EQ(base64url::encode("f"), "Zg");
    EXPECT_EQ(base64url::encode("fo"), "Zm8");
    EXPECT_EQ(base64url::encode("foo"), "Zm9v");
    EXPECT_EQ(base64url::encode("foob"), "Zm9vYg");
    EXPECT_EQ(base64url::encode("fooba"), "Zm9vYmE");
    EXPECT_EQ(base64url::encode("foobar"), "Zm9vYmFy");
    EXPECT_EQ(base64url::encode("\xfb\xff\xbf"), "-_-_");
}

TEST(Base64url, DecodesWhatItEncodesAndNothingLoose)
{
    for (const std::string text : {"", "f", "fo", "foo", "\xfb\xff\xbf\x00\x01"})
        EXPECT_EQ(base64url::decode(base64url::encode(text)), text);
    EXPECT_EQ(base64url::decode("Zg=="), std::nullopt); // padding
    EXPECT_EQ(base64url::decode("Z"), std::nullopt);    // a lone character
    EXPECT_EQ(base64url::decode("Zh"), std::nullopt);   // low bits set: another spelling of "f"
    EXPECT_EQ(base64url::decode("+/+/"), std::nullopt); // plain base64's alphabet
    EXPECT_EQ(base64url::decode("Zm 9v"), std::nullopt);
}

} // namespace base64url_test
} // namespace signald
