// The resume parts of the wire protocol (docs/protocol.md 8.1): parsing `resume` with its check
// order, and the exact text of resumed, peer-suspended, peer-resumed and a suspended peer.

#include "signald/core/protocol.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <variant>

namespace signald {
namespace protocol_resume_test {

constexpr ProtocolFeatures with_resume{.resume = true};

ProtocolError error_of(std::string_view text, ProtocolFeatures features = with_resume)
{
    auto parsed = parse_request(text, features);
    EXPECT_TRUE(std::holds_alternative<ProtocolError>(parsed)) << text;
    return std::holds_alternative<ProtocolError>(parsed) ? std::get<ProtocolError>(parsed)
                                                         : ProtocolError{};
}

ResumeRequest resume_of(std::string_view text)
{
    auto parsed = parse_request(text, with_resume);
    EXPECT_TRUE(std::holds_alternative<Request>(parsed)) << text;
    const Request* request = std::get_if<Request>(&parsed);
    EXPECT_TRUE(request && std::holds_alternative<ResumeRequest>(*request)) << text;
    return request && std::holds_alternative<ResumeRequest>(*request)
               ? std::get<ResumeRequest>(*request)
               : ResumeRequest{};
}

TEST(ProtocolResume, WithoutTheFeatureResumeIsAnUnknownActionBeforeItsFieldsAreLookedAt)
{
    const ProtocolError error = error_of(R"({"action":"resume","token":5})", ProtocolFeatures{});
    EXPECT_EQ(error.code, ErrorCode::unknown_action);
    EXPECT_EQ(error.message, "action must be join, leave, signal, update or report");
    EXPECT_EQ(error.request, "resume");
    EXPECT_EQ(error_of(R"({"action":"ping"})").message,
              "action must be join, leave, signal, update, report or resume");
}

TEST(ProtocolResume, TokenThenReceivedAreTypeCheckedAsBadMessage)
{
    for (const char* text : {R"({"action":"resume","received":0})",
                             R"({"action":"resume","token":null,"received":"x"})",
                             R"({"action":"resume","token":["t"],"received":0})"}) {
        const ProtocolError error = error_of(text);
        EXPECT_EQ(error.code, ErrorCode::bad_message) << text;
        EXPECT_EQ(error.message, "token must be a string") << text;
        EXPECT_EQ(error.request, "resume");
    }
    for (const char* text :
         {R"({"action":"resume","token":"t"})", R"({"action":"resume","token":"t","received":-1})",
          R"({"action":"resume","token":"t","received":0.5})",
          R"({"action":"resume","token":"t","received":1e-1})",
          R"({"action":"resume","token":"t","received":"3"})",
          R"({"action":"resume","token":"t","received":null})",
          R"({"action":"resume","token":"t","received":true})"}) {
        const ProtocolError error = error_of(text);
        EXPECT_EQ(error.code, ErrorCode::bad_message) << text;
        EXPECT_EQ(error.message, "received must be a non-negative integer") << text;
    }
}

TEST(ProtocolResume, ReceivedIsAnyJsonNumberWhoseValueIsANonNegativeInteger)
{
    EXPECT_EQ(resume_of(R"({"action":"resume","token":"t","received":0})").received, 0u);
    EXPECT_EQ(resume_of(R"({"action":"resume","token":"t","received":-0})").received, 0u);
    EXPECT_EQ(resume_of(R"({"action":"resume","token":"t","received":42})").received, 42u);
    EXPECT_EQ(resume_of(R"({"action":"resume","token":"t","received":42.0})").received, 42u);
    EXPECT_EQ(resume_of(R"({"action":"resume","token":"t","received":4.2e1})").received, 42u);
    EXPECT_EQ(
        resume_of(R"({"action":"resume","token":"t","received":18446744073709551615})").received,
        UINT64_MAX);
    EXPECT_EQ(
        resume_of(R"({"action":"resume","token":"t","received":99999999999999999999999})").received,
        UINT64_MAX);
    EXPECT_EQ(resume_of(R"({"action":"resume","token":"t","received":1e400})").received,
              UINT64_MAX);
    EXPECT_EQ(resume_of(R"({"action":"resume","token":"a\u0062c","received":1})").token, "abc");
}

TEST(ProtocolResume, RepliesHaveTheirFieldsInTheDocumentedOrder)
{
    EXPECT_EQ(reply::resumed("r", "aaaaaaaaa1", "TOKEN"),
              R"({"action":"resumed","roomId":"r","clientId":"aaaaaaaaa1","resumeToken":"TOKEN"})");
    EXPECT_EQ(reply::resumed("r", "aaaaaaaaa1", "TOKEN", R"([{"urls":["stun:s"]}])"),
              R"({"action":"resumed","roomId":"r","clientId":"aaaaaaaaa1","resumeToken":"TOKEN",)"
              R"("iceServers":[{"urls":["stun:s"]}]})");
    EXPECT_EQ(reply::peer_suspended("r", "aaaaaaaaa1"),
              R"({"action":"peer-suspended","roomId":"r","clientId":"aaaaaaaaa1"})");
    EXPECT_EQ(reply::peer_resumed("r", "aaaaaaaaa1"),
              R"({"action":"peer-resumed","roomId":"r","clientId":"aaaaaaaaa1"})");
    const Peer peers[] = {Peer{"aaaaaaaaa2", "Ann", true}, Peer{"aaaaaaaaa3", std::nullopt, true}};
    EXPECT_EQ(reply::joined("r", "aaaaaaaaa1", peers, R"([])", "TOKEN"),
              R"({"action":"joined","roomId":"r","clientId":"aaaaaaaaa1","peers":[)"
              R"({"clientId":"aaaaaaaaa2","name":"Ann","suspended":true},)"
              R"({"clientId":"aaaaaaaaa3","suspended":true}],"resumeToken":"TOKEN",)"
              R"("iceServers":[]})");
    EXPECT_EQ(to_string(ErrorCode::resume_failed), "resume-failed");
}

} // namespace protocol_resume_test
} // namespace signald
