// Room tokens: the secrets file, every check of verify_room_token in its order with the leeway
// edges, and minting. The tokens here are built by the test itself (its own base64url over
// OpenSSL's HMAC), so a token the verifier accepts is not merely one its own code produced.

#include "signald/auth/room_token.hpp"

#include "test_jwt.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <openssl/evp.h>

#include <string>

namespace signald {
namespace room_token_test {

using json = nlohmann::json;

const std::string secret_a(40, 'a');
const std::string secret_b = "0123456789abcdef0123456789abcdef-b";
const std::string bare_secret = "a-bare-secret-of-well-over-thirty-two-bytes"; // no space
constexpr std::int64_t now = 1'800'000'000;

// A compact JWT of header and payload, signed with key (HS256 unless md says otherwise).
std::string token(const json& header, const json& payload, const std::string& key,
                  const EVP_MD* md = EVP_sha256())
{
    return test::make_jwt(header, payload, key, md);
}

json hs256(std::optional<std::string> kid = {})
{
    json header{{"alg", "HS256"}, {"typ", "JWT"}};
    if (kid)
        header["kid"] = *kid;
    return header;
}

json claims(std::string room = "r", std::int64_t exp = now + 600)
{
    return json{{"room", std::move(room)}, {"exp", exp}};
}

AuthSecrets secrets()
{
    AuthSecrets out;
    out.bare = bare_secret;
    out.by_kid.emplace("a", secret_a);
    out.by_kid.emplace("b", secret_b);
    return out;
}

TokenFault fault_of(const std::string& text, std::string_view room = "r", std::int64_t at = now,
                    const AuthSecrets& keys = secrets())
{
    const auto result = verify_room_token(text, keys, room, at);
    if (const auto* grant = std::get_if<RoomGrant>(&result)) {
        ADD_FAILURE() << "accepted: " << text;
        (void)grant;
        return TokenFault::missing;
    }
    return std::get<TokenRefusal>(result).fault;
}

RoomGrant grant_of(const std::string& text, std::string_view room = "r", std::int64_t at = now,
                   const AuthSecrets& keys = secrets())
{
    auto result = verify_room_token(text, keys, room, at);
    if (const auto* refusal = std::get_if<TokenRefusal>(&result)) {
        ADD_FAILURE() << "refused: " << describe(*refusal);
        return {};
    }
    return std::get<RoomGrant>(std::move(result));
}

// --- the secrets file ----------------------------------------------------------------------

TEST(AuthSecrets, BareAndKeyedSecretsCommentsAndBlankLines)
{
    // A line of only spaces or tabs is blank too.
    const auto parsed =
        parse_auth_secrets("# rotated monthly\n\n  \n\t\n \t \r\n" + bare_secret + "\r\nk1 " +
                           secret_a + "\nk2 " + secret_b + " with spaces\n");
    ASSERT_TRUE(std::holds_alternative<AuthSecrets>(parsed)) << std::get<std::string>(parsed);
    const auto& keys = std::get<AuthSecrets>(parsed);
    EXPECT_EQ(keys.bare, bare_secret);
    EXPECT_EQ(keys.by_kid.at("k1"), secret_a);
    EXPECT_EQ(keys.by_kid.at("k2"), secret_b + " with spaces"); // split at the first space only
}

TEST(AuthSecrets, RefusalsNameTheLineAndNeverTheSecret)
{
    const auto short_one = parse_auth_secrets("# c\nk1 tooshort-secret\n");
    ASSERT_TRUE(std::holds_alternative<std::string>(short_one));
    EXPECT_NE(std::get<std::string>(short_one).find("line 2"), std::string::npos);
    EXPECT_EQ(std::get<std::string>(short_one).find("tooshort"), std::string::npos);

    const auto twice = parse_auth_secrets("k1 " + secret_a + "\nk1 " + secret_b + "\n");
    ASSERT_TRUE(std::holds_alternative<std::string>(twice));
    EXPECT_NE(std::get<std::string>(twice).find("twice"), std::string::npos);
    EXPECT_EQ(std::get<std::string>(twice).find(secret_b), std::string::npos);

    EXPECT_TRUE(std::holds_alternative<std::string>(
        parse_auth_secrets(bare_secret + "\n" + bare_secret + "x\n")));
    EXPECT_TRUE(std::holds_alternative<std::string>(parse_auth_secrets(" " + secret_a)));
    EXPECT_TRUE(std::holds_alternative<std::string>(parse_auth_secrets("# only a comment\n\n")));
    // Exactly 32 bytes is enough; 31 is not.
    EXPECT_TRUE(std::holds_alternative<AuthSecrets>(parse_auth_secrets(std::string(32, 's'))));
    EXPECT_TRUE(std::holds_alternative<std::string>(parse_auth_secrets(std::string(31, 's'))));
}

// --- verification, in the order of its checks ----------------------------------------------

TEST(RoomToken, AValidTokenGrantsItsClaims)
{
    json payload = claims();
    payload["name"] = "Ada";
    payload["sub"] = "user-7";
    payload["role"] = "moderator";
    payload["iat"] = "ignored";
    payload["iss"] = 42;
    const RoomGrant grant = grant_of(token(hs256(), payload, bare_secret));
    EXPECT_EQ(grant.room, "r");
    EXPECT_EQ(grant.name, "Ada");
    EXPECT_EQ(grant.sub, "user-7");
    EXPECT_TRUE(grant.moderator);
    // Without the optional claims and without typ.
    const RoomGrant plain = grant_of(token(json{{"alg", "HS256"}}, claims(), bare_secret));
    EXPECT_FALSE(plain.name || plain.sub || plain.moderator);
    // An empty name is a name too: the member has none, whatever its join says.
    json nameless = claims();
    nameless["name"] = "";
    EXPECT_EQ(grant_of(token(hs256(), nameless, bare_secret)).name, std::optional<std::string>(""));
}

TEST(RoomToken, NoTokenIsMissing)
{
    const auto result = verify_room_token(std::nullopt, secrets(), "r", now);
    ASSERT_TRUE(std::holds_alternative<TokenRefusal>(result));
    const auto& refusal = std::get<TokenRefusal>(result);
    EXPECT_EQ(refusal.fault, TokenFault::missing);
    EXPECT_NE(describe(refusal).find("missing"), std::string::npos);
}

TEST(RoomToken, ShapesThatAreNotATokenAreMalformed)
{
    const std::string good = token(hs256(), claims(), bare_secret);
    const auto malformed = [&](const std::string& text) {
        EXPECT_EQ(fault_of(text), TokenFault::malformed) << text;
    };
    malformed("");
    malformed("abc");
    malformed(good.substr(0, good.rfind('.')));                   // two parts
    malformed(good + ".x");                                       // four parts
    malformed(good + "=");                                        // padding
    malformed("!!!!" + good.substr(good.find('.')));              // not base64url
    malformed(test::b64url("[1]") + good.substr(good.find('.'))); // header not an object
    malformed(std::string(9000, 'a') + "." + "b.c");
    json crit = hs256();
    crit["crit"] = json::array({"exp"});
    malformed(token(crit, claims(), bare_secret));
    json bad_kid = hs256();
    bad_kid["kid"] = 7;
    malformed(token(bad_kid, claims(), bare_secret));
    json no_exp = claims();
    no_exp.erase("exp");
    malformed(token(hs256(), no_exp, bare_secret));
    malformed(token(hs256(), json{{"room", "r"}, {"exp", "soon"}}, bare_secret));
    malformed(token(hs256(), json{{"room", "r"}, {"exp", now}, {"nbf", "later"}}, bare_secret));
    malformed(token(hs256(), json{{"exp", now}}, bare_secret));
    malformed(token(hs256(), json{{"room", 5}, {"exp", now}}, bare_secret));
    json admin = claims();
    admin["role"] = "admin";
    malformed(token(hs256(), admin, bare_secret));
    json control = claims();
    control["name"] = "a\nb";
    malformed(token(hs256(), control, bare_secret));
    json sub = claims();
    sub["sub"] = 12;
    malformed(token(hs256(), sub, bare_secret));
}

TEST(RoomToken, EveryAlgorithmButHs256IsRefusedNoneIncluded)
{
    const std::string input =
        test::b64url(json{{"alg", "none"}}.dump()) + "." + test::b64url(claims().dump());
    EXPECT_EQ(fault_of(input + "."), TokenFault::algorithm);
    EXPECT_EQ(fault_of(token(json{{"alg", "HS512"}}, claims(), bare_secret, EVP_sha512())),
              TokenFault::algorithm);
    // RS256 "signed" with the secret, as a public key confused for an HMAC key would be.
    EXPECT_EQ(fault_of(token(json{{"alg", "RS256"}}, claims(), bare_secret)),
              TokenFault::algorithm);
    EXPECT_EQ(fault_of(token(json{{"alg", "hs256"}}, claims(), bare_secret)),
              TokenFault::algorithm);
    EXPECT_EQ(fault_of(token(json{{"typ", "JWT"}}, claims(), bare_secret)), TokenFault::algorithm);
}

TEST(RoomToken, TheKidPicksTheSecretSoKeysRotate)
{
    EXPECT_EQ(grant_of(token(hs256("a"), claims(), secret_a)).room, "r");
    EXPECT_EQ(grant_of(token(hs256("b"), claims(), secret_b)).room, "r");
    // Each kid's own secret only.
    EXPECT_EQ(fault_of(token(hs256("a"), claims(), secret_b)), TokenFault::signature);
    EXPECT_EQ(fault_of(token(hs256("c"), claims(), secret_a)), TokenFault::unknown_kid);
    // Without kid: the bare secret, or unauthorized when there is none.
    AuthSecrets keyed_only = secrets();
    keyed_only.bare.reset();
    EXPECT_EQ(fault_of(token(hs256(), claims(), bare_secret), "r", now, keyed_only),
              TokenFault::unknown_kid);
}

TEST(RoomToken, ATamperedTokenFailsItsSignature)
{
    const std::string good = token(hs256(), claims("r"), bare_secret);
    const std::string other_payload = test::b64url(claims("other").dump());
    const std::string tampered =
        good.substr(0, good.find('.') + 1) + other_payload + good.substr(good.rfind('.'));
    EXPECT_EQ(fault_of(tampered, "other"), TokenFault::signature);
    EXPECT_EQ(fault_of(token(hs256(), claims(), "another secret of more than 32 bytes!")),
              TokenFault::signature);
    // A signature that is a valid base64url text of the wrong length.
    EXPECT_EQ(fault_of(good.substr(0, good.rfind('.') + 1) + "AAAA"), TokenFault::signature);
}

TEST(RoomToken, TheSignatureIsCheckedBeforeTheTimes)
{
    // Expired and forged: a forger learns nothing from "expired".
    EXPECT_EQ(fault_of(token(hs256(), claims("r", now - 3600), "not the secret at all, but long")),
              TokenFault::signature);
}

TEST(RoomToken, ExpAndNbfHaveThirtySecondsOfLeewayInclusive)
{
    const std::string expiring = token(hs256(), claims("r", now), bare_secret);
    EXPECT_EQ(grant_of(expiring, "r", now + 30).room, "r");
    EXPECT_EQ(fault_of(expiring, "r", now + 31), TokenFault::expired);
    json later = claims("r", now + 3600);
    later["nbf"] = now;
    const std::string early = token(hs256(), later, bare_secret);
    EXPECT_EQ(grant_of(early, "r", now - 30).room, "r");
    EXPECT_EQ(fault_of(early, "r", now - 31), TokenFault::not_yet_valid);
    // NumericDate is any JSON number (RFC 7519 2), and a small nbf does not wrap round.
    EXPECT_EQ(grant_of(token(hs256(), json{{"room", "r"}, {"exp", now + 0.5}}, bare_secret), "r",
                       now + 30)
                  .room,
              "r");
    json small_nbf = claims();
    small_nbf["nbf"] = 10;
    EXPECT_EQ(grant_of(token(hs256(), small_nbf, bare_secret)).room, "r");
}

TEST(RoomToken, TheRoomMustBeTheJoinsOrAny)
{
    EXPECT_EQ(fault_of(token(hs256(), claims("r"), bare_secret), "s"), TokenFault::wrong_room);
    EXPECT_EQ(grant_of(token(hs256(), claims("*"), bare_secret), "any room").room, "*");
}

TEST(RoomToken, RefusalsNameTheirCheckAndNeverTheToken)
{
    const std::string expired = token(hs256(), claims("r", now - 100), bare_secret);
    const auto result = verify_room_token(expired, secrets(), "r", now);
    const std::string message = describe(std::get<TokenRefusal>(result));
    EXPECT_NE(message.find("expired"), std::string::npos) << message;
    EXPECT_EQ(message.find(expired.substr(expired.rfind('.') + 1)), std::string::npos);
}

// --- minting -------------------------------------------------------------------------------

TEST(RoomTokenMint, AMintedTokenIsAStandardJwtTheVerifierAccepts)
{
    TokenRequest request;
    request.room = "team";
    request.name = "Grace";
    request.sub = "u1";
    request.kid = "b";
    request.moderator = true;
    request.ttl_seconds = 90;
    const auto minted = mint_room_token(request, secrets(), now);
    ASSERT_TRUE(std::holds_alternative<std::string>(minted));
    const std::string& text = std::get<std::string>(minted);
    // Checked here by hand: the signature is HMAC-SHA256 of header.payload with kid b's secret.
    const auto last_dot = text.rfind('.');
    EXPECT_EQ(text.substr(last_dot + 1),
              test::b64url(test::hmac(secret_b, text.substr(0, last_dot))));
    const RoomGrant grant = grant_of(text, "team", now + 90 + 30);
    EXPECT_EQ(grant.name, "Grace");
    EXPECT_EQ(grant.sub, "u1");
    EXPECT_TRUE(grant.moderator);
    EXPECT_EQ(fault_of(text, "team", now + 90 + 31), TokenFault::expired);
}

TEST(RoomTokenMint, RefusesWhatCouldNotBeVerified)
{
    TokenRequest request;
    request.room = "r";
    AuthSecrets keyed_only = secrets();
    keyed_only.bare.reset();
    EXPECT_TRUE(std::holds_alternative<MintError>(mint_room_token(request, keyed_only, now)));
    request.kid = "zz";
    EXPECT_TRUE(std::holds_alternative<MintError>(mint_room_token(request, secrets(), now)));
    request.kid.reset();
    request.ttl_seconds = 0;
    EXPECT_TRUE(std::holds_alternative<MintError>(mint_room_token(request, secrets(), now)));
    request.ttl_seconds = 60;
    request.room = "";
    EXPECT_TRUE(std::holds_alternative<MintError>(mint_room_token(request, secrets(), now)));
}

} // namespace room_token_test
} // namespace signald
