#include "signald/core/protocol.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace signald {
namespace protocol_test {

using namespace std::string_literals;

std::string repeat(std::string_view part, std::size_t times)
{
    std::string out;
    for (std::size_t i = 0; i < times; ++i)
        out += part;
    return out;
}

// "ok" if text parses into a request, else the error code's wire name.
std::string outcome(std::string_view text)
{
    const ParseResult result = parse_request(text);
    if (const auto* error = std::get_if<ProtocolError>(&result))
        return std::string(to_string(error->code));
    return "ok";
}

ProtocolError error_of(std::string_view text)
{
    ParseResult result = parse_request(text);
    if (auto* error = std::get_if<ProtocolError>(&result))
        return *error;
    ADD_FAILURE() << "accepted: " << text;
    return ProtocolError{};
}

template <class T>
T request_of(std::string_view text)
{
    ParseResult result = parse_request(text);
    if (auto* request = std::get_if<Request>(&result)) {
        if (auto* typed = std::get_if<T>(request))
            return std::move(*typed);
        ADD_FAILURE() << "parsed as another request: " << text;
    } else {
        ADD_FAILURE() << "refused with " << to_string(std::get<ProtocolError>(result).code) << ": "
                      << text;
    }
    return T{};
}

std::string join_with_room(std::string_view room_literal)
{
    return R"({"action":"join","roomId":)" + std::string(room_literal) + "}";
}

std::string join_with_name(std::string_view name_literal)
{
    return R"({"action":"join","roomId":"r","name":)" + std::string(name_literal) + "}";
}

// roomId checks are shared by every action; each room test runs them through all three.
std::vector<std::string> every_action_with_room(std::string_view room_literal)
{
    const std::string room(room_literal);
    return {
        R"({"action":"join","roomId":)" + room + "}",
        R"({"action":"leave","roomId":)" + room + "}",
        R"({"action":"signal","roomId":)" + room + R"(,"type":"offer"})",
    };
}

void expect_room_outcome(std::string_view room_literal, std::string_view expected)
{
    for (const std::string& text : every_action_with_room(room_literal))
        EXPECT_EQ(outcome(text), expected) << text;
}

// --- Parsing valid requests ---------------------------------------------------------------

TEST(Protocol, JoinReadsRoomIdAndName)
{
    const auto join = request_of<JoinRequest>(R"({"action":"join","roomId":"lobby","name":"Ann"})");
    EXPECT_EQ(join.room_id, "lobby");
    EXPECT_EQ(join.name, "Ann");
}

TEST(Protocol, JoinWithoutNameOrWithNullOrEmptyNameHasNoName)
{
    EXPECT_EQ(request_of<JoinRequest>(R"({"action":"join","roomId":"r"})").name, std::nullopt);
    EXPECT_EQ(request_of<JoinRequest>(join_with_name("null")).name, std::nullopt);
    EXPECT_EQ(request_of<JoinRequest>(join_with_name(R"("")")).name, std::nullopt);
}

TEST(Protocol, LeaveReadsRoomId)
{
    EXPECT_EQ(request_of<LeaveRequest>(R"({"action":"leave","roomId":"lobby"})").room_id, "lobby");
}

TEST(Protocol, SignalReadsEveryField)
{
    const std::string text =
        R"({"action":"signal","roomId":"r","type":"answer","data":{"sdp":"v=0"},"to":"aaaaaaaaa2"})";
    const auto signal = request_of<SignalRequest>(text);
    EXPECT_EQ(signal.room_id, "r");
    EXPECT_EQ(signal.type, SignalType::answer);
    EXPECT_EQ(signal.data, R"({"sdp":"v=0"})");
    EXPECT_EQ(signal.to, "aaaaaaaaa2");
}

TEST(Protocol, EveryKnownSignalTypeParses)
{
    const std::pair<const char*, SignalType> types[] = {
        {"offer", SignalType::offer},
        {"answer", SignalType::answer},
        {"ice-candidate", SignalType::ice_candidate},
        {"hangup", SignalType::hangup},
    };
    for (const auto& [name, type] : types) {
        const std::string text =
            R"({"action":"signal","roomId":"r","type":")" + std::string(name) + R"("})";
        EXPECT_EQ(request_of<SignalRequest>(text).type, type) << name;
        EXPECT_EQ(to_string(type), name);
    }
}

TEST(Protocol, SignalWithoutDataOrToHasNeither)
{
    const auto signal =
        request_of<SignalRequest>(R"({"action":"signal","roomId":"r","type":"hangup"})");
    EXPECT_EQ(signal.data, std::nullopt);
    EXPECT_EQ(signal.to, std::nullopt);
}

TEST(Protocol, SignalDataNullIsPresentAsNull)
{
    const auto signal =
        request_of<SignalRequest>(R"({"action":"signal","roomId":"r","type":"offer","data":null})");
    EXPECT_EQ(signal.data, "null");
}

TEST(Protocol, SignalDataIsTheRawTextPointingIntoTheMessage)
{
    const std::string text =
        "{\"action\":\"signal\",\"roomId\":\"r\",\"type\":\"offer\",\"data\" :  [ 1 ,\n\t{ \"a\" : "
        "\"\\u00e9\" } ]  ,\"to\":\"x\"}";
    const auto signal = request_of<SignalRequest>(text);
    ASSERT_TRUE(signal.data);
    EXPECT_EQ(*signal.data, "[ 1 ,\n\t{ \"a\" : \"\\u00e9\" } ]");
    EXPECT_GE(signal.data->data(), text.data());
    EXPECT_LE(signal.data->data() + signal.data->size(), text.data() + text.size());
}

TEST(Protocol, SignalDataMayBeAnyJsonValue)
{
    for (const char* data : {"0", "-1.5e-7", "true", "false", "null", R"("")", R"("x\"y")", "[]",
                             "{}", R"({"a":[1,{"b":null}]})", "1e400"}) {
        const std::string text =
            R"({"action":"signal","roomId":"r","type":"offer","data":)" + std::string(data) + "}";
        EXPECT_EQ(request_of<SignalRequest>(text).data, data);
    }
}

TEST(Protocol, SignalToIsDecodedAndMayBeEmpty)
{
    EXPECT_EQ(request_of<SignalRequest>(
                  R"({"action":"signal","roomId":"r","type":"offer","to":"\u0061bc"})")
                  .to,
              "abc");
    // An empty target is well-formed; Hub then finds no such peer.
    EXPECT_EQ(
        request_of<SignalRequest>(R"({"action":"signal","roomId":"r","type":"offer","to":""})").to,
        "");
}

TEST(Protocol, WhitespaceAroundAndInsideTheMessageIsAllowed)
{
    EXPECT_EQ(outcome(" \r\n\t{ \"action\" : \"join\" ,\n \"roomId\" : \"r\" }\n "), "ok");
}

TEST(Protocol, UnknownExtraFieldsAreIgnored)
{
    const auto join = request_of<JoinRequest>(
        R"({"action":"join","roomId":"r","from":"evil","extra":[1,{"x":{}}],"data":5,"type":9,"to":null})");
    EXPECT_EQ(join.room_id, "r");
    EXPECT_EQ(join.name, std::nullopt);
    // Fields of other actions are not checked either.
    EXPECT_EQ(outcome(R"({"action":"leave","roomId":"r","name":5,"type":{},"to":null})"), "ok");
    EXPECT_EQ(outcome(R"({"action":"signal","roomId":"r","type":"offer","name":5,"from":7})"),
              "ok");
}

// --- Duplicate and escaped keys -------------------------------------------------------------

TEST(Protocol, DuplicateKeysLastOneWins)
{
    EXPECT_EQ(request_of<JoinRequest>(R"({"action":"leave","action":"join","roomId":"r"})").room_id,
              "r");
    EXPECT_EQ(request_of<JoinRequest>(R"({"action":"join","roomId":5,"roomId":"b"})").room_id, "b");
    EXPECT_EQ(outcome(R"({"action":"join","roomId":"a","roomId":5})"), "bad-message");
    EXPECT_EQ(outcome(R"({"action":"join","action":5,"roomId":"a"})"), "bad-message");
    EXPECT_EQ(outcome(R"({"action":"join","roomId":"a","name":"ok","name":{}})"), "bad-message");
    EXPECT_EQ(
        request_of<JoinRequest>(R"({"action":"join","roomId":"a","name":"x","name":null})").name,
        std::nullopt);
    EXPECT_EQ(outcome(R"({"action":"signal","roomId":"r","type":"offer","to":"x","to":null})"),
              "bad-message");
    EXPECT_EQ(
        request_of<SignalRequest>(
            R"({"action":"signal","roomId":"r","type":"bad","type":"hangup","data":1,"data":[2]})")
            .data,
        "[2]");
}

TEST(Protocol, EscapedKeysCountAsThemselves)
{
    const auto join =
        request_of<JoinRequest>(R"({"\u0061ction":"join","\u0072oomId":"r","n\u0061me":"Ann"})");
    EXPECT_EQ(join.room_id, "r");
    EXPECT_EQ(join.name, "Ann");
    // An escaped key and a plain one are the same key: the last still wins.
    EXPECT_EQ(
        request_of<JoinRequest>(R"({"action":"join","roomId":"a","r\u006fomId":"b"})").room_id,
        "b");
}

TEST(Protocol, EscapedStringValuesAreDecoded)
{
    EXPECT_EQ(request_of<JoinRequest>(join_with_room(R"("\u0041")")).room_id, "A");
    EXPECT_EQ(request_of<JoinRequest>(join_with_room(R"("a\/b\"c\\d")")).room_id, "a/b\"c\\d");
    EXPECT_EQ(request_of<JoinRequest>(join_with_room(R"("\ud83d\ude00")")).room_id,
              "\xF0\x9F\x98\x80");
    EXPECT_EQ(request_of<JoinRequest>(R"({"action":"\u006aoin","roomId":"r"})").room_id, "r");
    EXPECT_EQ(
        request_of<SignalRequest>(R"({"action":"signal","roomId":"r","type":"\u006fffer"})").type,
        SignalType::offer);
}

TEST(Protocol, KeysAreCaseSensitive)
{
    EXPECT_EQ(outcome(R"({"Action":"join","roomId":"r"})"), "bad-message");
    EXPECT_EQ(outcome(R"({"action":"join","roomid":"r"})"), "bad-message");
    EXPECT_EQ(outcome(R"({"action":"signal","roomId":"r","Type":"offer"})"), "bad-message");
}

// --- bad-json --------------------------------------------------------------------------------

TEST(Protocol, InvalidJsonIsBadJsonWithoutRequest)
{
    for (const std::string& text :
         {""s,
          " "s,
          "{"s,
          "not json"s,
          R"({"action":"join","roomId":"r")"s,
          R"({"action":"join","roomId":"r",})"s,
          R"({"action":"join" "roomId":"r"})"s,
          R"({'action':'join'})"s,
          R"({"action":"join","roomId":"r"} x)"s,
          R"({"action":"join","roomId":"r"}{})"s,
          "{\"action\":\"join\",\"roomId\":\"\xFF\"}"s,
          "{\"action\":\"join\",\"roomId\":\"\xC0\x80\"}"s,
          "{\"action\":\"join\",\"roomId\":\"\xED\xA0\x80\"}"s,
          "{\"action\":\"join\",\"roomId\":\"\xF4\x90\x80\x80\"}"s,
          "{\"action\":\"join\",\"roomId\":\"\xC3\"}"s,
          R"({"action":"join","roomId":"\ud800"})"s,
          R"({"action":"join","roomId":"\udc00"})"s,
          R"({"action":"join","roomId":"\x41"})"s,
          "{\"action\":\"join\",\"roomId\":\"a\tb\"}"s,
          R"({"action":"join","roomId":"r"})"
          "\0"s,
          "\xEF\xBB\xBF{\"action\":\"join\",\"roomId\":\"r\"}"s,
          R"({"action":"signal","roomId":"r","type":"offer","data":[1,]})"s,
          R"({"action":"signal","roomId":"r","type":"offer","data":01})"s}) {
        const ProtocolError error = error_of(text);
        EXPECT_EQ(error.code, ErrorCode::bad_json) << text;
        EXPECT_EQ(error.request, std::nullopt) << text;
    }
}

// --- bad-message -----------------------------------------------------------------------------

TEST(Protocol, ValidJsonThatIsNotAnObjectIsBadMessageWithoutRequest)
{
    for (const char* text : {"[]", R"(["join"])", R"([{"action":"join","roomId":"r"}])",
                             R"("join")", "0", "-1.5", "true", "false", "null"}) {
        const ProtocolError error = error_of(text);
        EXPECT_EQ(error.code, ErrorCode::bad_message) << text;
        EXPECT_EQ(error.request, std::nullopt) << text;
    }
}

TEST(Protocol, MissingOrNonStringActionIsBadMessageWithoutRequest)
{
    for (const char* text : {"{}", R"({"roomId":"r"})", R"({"action":5,"roomId":"r"})",
                             R"({"action":null})", R"({"action":true})",
                             R"({"action":["join"],"roomId":"r"})", R"({"action":{"join":1}})"}) {
        const ProtocolError error = error_of(text);
        EXPECT_EQ(error.code, ErrorCode::bad_message) << text;
        EXPECT_EQ(error.request, std::nullopt) << text;
    }
}

TEST(Protocol, MissingRequiredFieldsAreBadMessage)
{
    EXPECT_EQ(outcome(R"({"action":"join"})"), "bad-message");
    EXPECT_EQ(outcome(R"({"action":"join","name":"Ann"})"), "bad-message");
    EXPECT_EQ(outcome(R"({"action":"leave"})"), "bad-message");
    EXPECT_EQ(outcome(R"({"action":"signal","type":"offer"})"), "bad-message");
    EXPECT_EQ(outcome(R"({"action":"signal","roomId":"r"})"), "bad-message");
    EXPECT_EQ(outcome(R"({"action":"signal"})"), "bad-message");
}

TEST(Protocol, FieldsOfTheWrongJsonTypeAreBadMessage)
{
    for (const char* value : {"5", "true", "false", "null", "{}", "[]", R"(["r"])"})
        expect_room_outcome(value, "bad-message");
    for (const char* value : {"5", "true", "false", "{}", "[]", R"(["Ann"])"})
        EXPECT_EQ(outcome(join_with_name(value)), "bad-message") << value;
    for (const char* value : {"1", "null", "true", "{}", "[]", R"(["offer"])"})
        EXPECT_EQ(outcome(R"({"action":"signal","roomId":"r","type":)" + std::string(value) + "}"),
                  "bad-message")
            << value;
    for (const char* value : {"null", "5", "true", "false", "{}", "[]", R"(["aaaaaaaaa1"])"})
        EXPECT_EQ(outcome(R"({"action":"signal","roomId":"r","type":"offer","to":)" +
                          std::string(value) + "}"),
                  "bad-message")
            << value;
}

TEST(Protocol, ErrorsAboutAnObjectWithAStringActionNameThatAction)
{
    EXPECT_EQ(error_of(R"({"action":"join"})").request, "join");
    EXPECT_EQ(error_of(R"({"action":"leave","roomId":5})").request, "leave");
    EXPECT_EQ(error_of(R"({"action":"signal","roomId":"r","type":"nope"})").request, "signal");
    EXPECT_EQ(error_of(R"({"action":"join","roomId":""})").request, "join");
    EXPECT_EQ(error_of(join_with_name(R"("\u0001")")).request, "join");
    // The action is reported decoded.
    EXPECT_EQ(error_of(R"({"action":"\u006aoin"})").request, "join");
}

// --- unknown-action --------------------------------------------------------------------------

TEST(Protocol, UnknownActionNamesTheActionInRequest)
{
    for (const std::string& action : {"bogus"s, "JOIN"s, "Join"s, "join "s, " join"s, ""s,
                                      "joined"s, "error"s, "left"s, "peer-joined"s, "\xC3\xA9"s}) {
        const ProtocolError error = error_of(R"({"action":")" + action + R"(","roomId":"r"})");
        EXPECT_EQ(error.code, ErrorCode::unknown_action) << action;
        EXPECT_EQ(error.request, action);
    }
    EXPECT_EQ(error_of(R"({"action":"a\u0000b"})").request, "a\0b"s);
}

TEST(Protocol, UnknownActionIsReportedBeforeAnyFieldIsChecked)
{
    EXPECT_EQ(outcome(R"({"action":"bogus","roomId":5,"name":{},"type":1,"to":null})"),
              "unknown-action");
    EXPECT_EQ(outcome(R"({"action":"bogus"})"), "unknown-action");
}

// --- Check order: types before values -------------------------------------------------------

TEST(Protocol, FieldTypesAreCheckedBeforeFieldValues)
{
    // Each message has one wrong type and one bad value; the wrong type is reported.
    EXPECT_EQ(outcome(R"({"action":"join","roomId":"","name":5})"), "bad-message");
    EXPECT_EQ(outcome(R"({"action":"join","roomId":5,"name":"\u0001"})"), "bad-message");
    EXPECT_EQ(outcome(R"({"action":"signal","roomId":"","type":5})"), "bad-message");
    EXPECT_EQ(outcome(R"({"action":"signal","roomId":5,"type":"bogus"})"), "bad-message");
    EXPECT_EQ(outcome(R"({"action":"signal","roomId":"","type":"offer","to":null})"),
              "bad-message");
    EXPECT_EQ(outcome(R"({"action":"signal","roomId":"r","type":"bogus","to":5})"), "bad-message");
    EXPECT_EQ(outcome(R"({"action":"signal","roomId":"r","type":"bogus"})"), "bad-type");
}

// --- bad-room-id -----------------------------------------------------------------------------

TEST(Protocol, RoomIdOfOneToSixtyFourCharactersIsValid)
{
    expect_room_outcome(R"("a")", "ok");
    expect_room_outcome("\"" + repeat("a", 64) + "\"", "ok");
    expect_room_outcome(R"(" ")", "ok");
}

TEST(Protocol, EmptyRoomIdIsBadRoomId)
{
    expect_room_outcome(R"("")", "bad-room-id");
    EXPECT_EQ(error_of(R"({"action":"leave","roomId":""})").request, "leave");
}

TEST(Protocol, RoomIdOf65CharactersIsBadRoomId)
{
    expect_room_outcome("\"" + repeat("a", 65) + "\"", "bad-room-id");
}

TEST(Protocol, RoomIdLengthCountsCodePointsNotBytes)
{
    expect_room_outcome("\"" + repeat("\xC3\xA9", 64) + "\"", "ok"); // 128 bytes
    expect_room_outcome("\"" + repeat("\xC3\xA9", 65) + "\"", "bad-room-id");
    expect_room_outcome("\"" + repeat("\xF0\x9F\x98\x80", 64) + "\"", "ok"); // 256 bytes
    expect_room_outcome("\"" + repeat("\xF0\x9F\x98\x80", 65) + "\"", "bad-room-id");
    expect_room_outcome("\"" + repeat("\\ud83d\\ude00", 64) + "\"", "ok"); // escaped pairs
    expect_room_outcome("\"" + repeat("\\ud83d\\ude00", 65) + "\"", "bad-room-id");
    expect_room_outcome("\"" + repeat("\\u00e9", 64) + "\"", "ok");
    expect_room_outcome("\"" + repeat("\\u00e9", 65) + "\"", "bad-room-id");
    expect_room_outcome("\"" + repeat("a", 63) + "\xF0\x9F\x98\x80\"", "ok");
    expect_room_outcome("\"" + repeat("a", 64) + "\xF0\x9F\x98\x80\"", "bad-room-id");
}

TEST(Protocol, RoomIdControlCharactersAreBadRoomIdAtEachBoundary)
{
    expect_room_outcome(R"("\u0000")", "bad-room-id");
    expect_room_outcome(R"("a\u0001")", "bad-room-id");
    expect_room_outcome(R"("\n")", "bad-room-id");
    expect_room_outcome(R"("\t")", "bad-room-id");
    expect_room_outcome(R"("\u001f")", "bad-room-id");
    expect_room_outcome(R"("\u0020")", "ok");
    expect_room_outcome(R"("\u007e")", "ok");
    expect_room_outcome(R"("\u007f")", "bad-room-id");
    expect_room_outcome("\"a\x7F\"", "bad-room-id"); // a raw DEL is valid JSON, but not a room id
    expect_room_outcome(R"("\u0080")", "ok");
    expect_room_outcome(R"("\u009f")", "ok");
}

TEST(Protocol, RawControlCharacterInRoomIdIsBadJson)
{
    expect_room_outcome("\"a\x01\"", "bad-json");
    expect_room_outcome("\"a\x1f\"", "bad-json");
}

TEST(Protocol, HugeRoomIdIsBadRoomId)
{
    expect_room_outcome("\"" + repeat("r", 250'000) + "\"", "bad-room-id");
}

TEST(Protocol, IsValidRoomIdChecksDecodedText)
{
    EXPECT_TRUE(is_valid_room_id("a"));
    EXPECT_TRUE(is_valid_room_id(repeat("\xC3\xA9", 64)));
    EXPECT_FALSE(is_valid_room_id(""));
    EXPECT_FALSE(is_valid_room_id(repeat("\xC3\xA9", 65)));
    EXPECT_FALSE(is_valid_room_id("a\x1F"));
    EXPECT_FALSE(is_valid_room_id("a\x7F"));
    EXPECT_FALSE(is_valid_room_id("a\0b"s));
    EXPECT_TRUE(is_valid_room_id("a\x20"));
    EXPECT_TRUE(is_valid_room_id("a\xC2\x80"));
}

// --- bad-name --------------------------------------------------------------------------------

TEST(Protocol, NameOf64CodePointsIsValid)
{
    EXPECT_EQ(request_of<JoinRequest>(join_with_name("\"" + repeat("n", 64) + "\"")).name,
              repeat("n", 64));
    EXPECT_EQ(request_of<JoinRequest>(join_with_name("\"" + repeat("\xC3\xA9", 64) + "\"")).name,
              repeat("\xC3\xA9", 64));
    EXPECT_EQ(
        request_of<JoinRequest>(join_with_name("\"" + repeat("\xF0\x9F\x98\x80", 64) + "\"")).name,
        repeat("\xF0\x9F\x98\x80", 64));
    EXPECT_EQ(outcome(join_with_name("\"" + repeat("\\ud83d\\ude00", 64) + "\"")), "ok");
}

TEST(Protocol, NameOf65CodePointsIsBadName)
{
    for (const std::string& name :
         {repeat("n", 65), repeat("\xC3\xA9", 65), repeat("\xF0\x9F\x98\x80", 65),
          repeat("\\ud83d\\ude00", 65), repeat("\\u00e9", 65), repeat("n", 250'000)}) {
        const ProtocolError error = error_of(join_with_name("\"" + name + "\""));
        EXPECT_EQ(error.code, ErrorCode::bad_name) << name.size();
        EXPECT_EQ(error.request, "join");
    }
}

TEST(Protocol, NameControlCharactersAreBadNameAtEachBoundary)
{
    EXPECT_EQ(outcome(join_with_name(R"("\u0000")")), "bad-name");
    EXPECT_EQ(outcome(join_with_name(R"("Ann\n")")), "bad-name");
    EXPECT_EQ(outcome(join_with_name(R"("\u001f")")), "bad-name");
    EXPECT_EQ(outcome(join_with_name(R"("\u0020")")), "ok");
    EXPECT_EQ(outcome(join_with_name(R"("\u007f")")), "bad-name");
    EXPECT_EQ(outcome(join_with_name("\"\x7F\"")), "bad-name");
    EXPECT_EQ(outcome(join_with_name(R"("\u0080")")), "ok");
    EXPECT_EQ(outcome(join_with_name("\"\x01\"")), "bad-json");
}

TEST(Protocol, IsValidNameAllowsEmptyButNotLongOrControl)
{
    EXPECT_TRUE(is_valid_name(""));
    EXPECT_TRUE(is_valid_name(repeat("\xF0\x9F\x98\x80", 64)));
    EXPECT_FALSE(is_valid_name(repeat("\xF0\x9F\x98\x80", 65)));
    EXPECT_FALSE(is_valid_name("\x1F"));
    EXPECT_FALSE(is_valid_name("\x7F"));
    EXPECT_TRUE(is_valid_name(" "));
}

// --- bad-type --------------------------------------------------------------------------------

// `state` (update, join): at most 1024 bytes of its JSON text as sent, from its { to its }:
// bytes, not code points; an escape counts as its six characters; whitespace around the value
// does not count, whitespace inside it does.
std::string update_with_state(std::string_view state_literal)
{
    return R"({"action":"update","roomId":"r","state":)" + std::string(state_literal) + "}";
}

// A state object exactly bytes long: {"n":"xxx..."} with the filler repeated.
std::string state_of(std::size_t bytes, std::string_view filler = "x")
{
    const std::string head = R"({"n":")";
    const std::string tail = R"("})";
    const std::size_t room = bytes - head.size() - tail.size();
    EXPECT_EQ(room % filler.size(), 0u) << "filler must divide the room left";
    return head + repeat(filler, room / filler.size()) + tail;
}

TEST(Protocol, StateSizeIsTheBytesOfItsJsonTextAsSent)
{
    EXPECT_EQ(outcome(update_with_state(state_of(1024))), "ok");
    EXPECT_EQ(outcome(update_with_state(state_of(1025))), "bad-state");
    // Bytes, not code points: 504 two-byte characters make 1016 bytes, 509 make 1026.
    EXPECT_EQ(outcome(update_with_state(state_of(1016, "\xc3\xa9"))), "ok");
    EXPECT_EQ(outcome(update_with_state(state_of(1026, "\xc3\xa9"))), "bad-state");
    // As sent: \u00e9 is six bytes here, although it decodes to two.
    EXPECT_EQ(outcome(update_with_state(state_of(1016, "\\u00e9"))), "ok");
    EXPECT_EQ(outcome(update_with_state(state_of(1028, "\\u00e9"))), "bad-state");
    // Whitespace around the value is not the value's; inside, it is.
    EXPECT_EQ(outcome(update_with_state("  \n\t " + state_of(1024) + "  \n")), "ok");
    std::string spaced = state_of(1023);
    spaced.insert(1, " ");
    EXPECT_EQ(outcome(update_with_state(spaced)), "ok");
    spaced.insert(1, " ");
    EXPECT_EQ(outcome(update_with_state(spaced)), "bad-state");
    // The same rule in join, and the state is kept byte for byte.
    const std::string exact = state_of(1024);
    EXPECT_EQ(
        request_of<JoinRequest>(R"({"action":"join","roomId":"r","state": )" + exact + " }").state,
        exact);
    EXPECT_EQ(outcome(R"({"action":"join","roomId":"r","state":)" + state_of(1025) + "}"),
              "bad-state");
}

TEST(Protocol, StateChecksComeAfterTheRoomIdAndTheNameAndAfterTheTypes)
{
    const std::string big = state_of(2000);
    EXPECT_EQ(outcome(R"({"action":"update","roomId":"","state":)" + big + "}"), "bad-room-id");
    EXPECT_EQ(outcome(R"({"action":"update","roomId":5,"state":)" + big + "}"), "bad-message");
    EXPECT_EQ(outcome(R"({"action":"update","roomId":"r","state":[1]})"), "bad-message");
    EXPECT_EQ(outcome(R"({"action":"update","roomId":"r"})"), "bad-message");
    EXPECT_EQ(outcome(R"({"action":"join","roomId":"r","name":"a\nb","state":)" + big + "}"),
              "bad-name");
    EXPECT_EQ(outcome(R"({"action":"join","roomId":"","state":)" + big + "}"), "bad-room-id");
    EXPECT_EQ(outcome(R"({"action":"join","roomId":"r","state":"muted"})"), "bad-message");
}

TEST(Protocol, UnknownSignalTypeIsBadType)
{
    for (const std::string& type :
         {"Offer"s, "OFFER"s, "ice_candidate"s, "icecandidate"s, "candidate"s, ""s, "offer "s,
          " offer"s, "bye"s, "hang-up"s, "offer\\u0000"s}) {
        const ProtocolError error =
            error_of(R"({"action":"signal","roomId":"r","type":")" + type + R"("})");
        EXPECT_EQ(error.code, ErrorCode::bad_type) << type;
        EXPECT_EQ(error.request, "signal");
    }
}

// --- Hostile input ---------------------------------------------------------------------------

TEST(Protocol, DeeplyNestedDataParsesAndIsKeptWhole)
{
    const std::string deep = repeat("[", 100'000) + repeat("]", 100'000);
    const std::string text =
        R"({"action":"signal","roomId":"r","type":"offer","data":)" + deep + "}";
    EXPECT_EQ(request_of<SignalRequest>(text).data, deep);
    EXPECT_EQ(outcome(R"({"action":"signal","roomId":"r","type":"offer","data":)" +
                      repeat("[", 100'000) + "}"),
              "bad-json");
    EXPECT_EQ(outcome(repeat("[", 100'000) + repeat("]", 100'000)), "bad-message");
    EXPECT_EQ(outcome(repeat("[", 100'000)), "bad-json");
    EXPECT_EQ(outcome(repeat("{\"a\":", 50'000)), "bad-json");
}

TEST(Protocol, ManyKeysParse)
{
    std::string text = R"({"action":"join")";
    for (int i = 0; i < 10'000; ++i)
        text += ",\"k" + std::to_string(i) + "\":" + std::to_string(i);
    text += R"(,"roomId":"r"})";
    EXPECT_EQ(request_of<JoinRequest>(text).room_id, "r");
}

// --- Reply builders --------------------------------------------------------------------------

TEST(Protocol, JoinedReplyListsPeersWithNamesOnlyWhenPresent)
{
    EXPECT_EQ(reply::joined("r", "aaaaaaaaa1", {}),
              R"({"action":"joined","roomId":"r","clientId":"aaaaaaaaa1","peers":[]})");
    const std::vector<Peer> peers = {{"aaaaaaaaa1", "Ann"}, {"aaaaaaaaa2", std::nullopt}};
    EXPECT_EQ(reply::joined("r", "aaaaaaaaa3", peers),
              R"({"action":"joined","roomId":"r","clientId":"aaaaaaaaa3","peers":[)"
              R"({"clientId":"aaaaaaaaa1","name":"Ann"},{"clientId":"aaaaaaaaa2"}]})");
}

TEST(Protocol, PeerJoinedReplyIncludesNameOnlyWhenPresent)
{
    EXPECT_EQ(
        reply::peer_joined("r", Peer{"aaaaaaaaa1", "Ann"}),
        R"({"action":"peer-joined","roomId":"r","peer":{"clientId":"aaaaaaaaa1","name":"Ann"}})");
    EXPECT_EQ(reply::peer_joined("r", Peer{"aaaaaaaaa1", std::nullopt}),
              R"({"action":"peer-joined","roomId":"r","peer":{"clientId":"aaaaaaaaa1"}})");
}

TEST(Protocol, PeerLeftAndLeftRepliesAreExact)
{
    EXPECT_EQ(reply::peer_left("r", "aaaaaaaaa1"),
              R"({"action":"peer-left","roomId":"r","clientId":"aaaaaaaaa1"})");
    EXPECT_EQ(reply::left("r"), R"({"action":"left","roomId":"r"})");
}

TEST(Protocol, SignalReplyHasKeysInFixedOrderAndOptionalDataAndTo)
{
    EXPECT_EQ(reply::signal("r", "aaaaaaaaa1", SignalType::offer, std::nullopt, std::nullopt),
              R"({"action":"signal","roomId":"r","from":"aaaaaaaaa1","type":"offer"})");
    EXPECT_EQ(reply::signal("r", "aaaaaaaaa1", SignalType::answer, R"({"sdp":"x"})", "aaaaaaaaa2"),
              R"({"action":"signal","roomId":"r","from":"aaaaaaaaa1","type":"answer",)"
              R"("data":{"sdp":"x"},"to":"aaaaaaaaa2"})");
    EXPECT_EQ(
        reply::signal("r", "aaaaaaaaa1", SignalType::ice_candidate, "null", std::nullopt),
        R"({"action":"signal","roomId":"r","from":"aaaaaaaaa1","type":"ice-candidate","data":null})");
    EXPECT_EQ(
        reply::signal("r", "aaaaaaaaa1", SignalType::hangup, std::nullopt, "aaaaaaaaa2"),
        R"({"action":"signal","roomId":"r","from":"aaaaaaaaa1","type":"hangup","to":"aaaaaaaaa2"})");
}

TEST(Protocol, SignalReplyCopiesDataByteForByte)
{
    const std::string data = "[ 1 ,\n\t{ \"a\" : \"\\u00e9\\n\" } , 1E+2 ]";
    EXPECT_EQ(reply::signal("r", "f", SignalType::offer, data, std::nullopt),
              R"({"action":"signal","roomId":"r","from":"f","type":"offer","data":)" + data + "}");
}

TEST(Protocol, ErrorReplyNamesEachCode)
{
    const std::pair<ErrorCode, const char*> codes[] = {
        {ErrorCode::bad_json, "bad-json"},
        {ErrorCode::bad_message, "bad-message"},
        {ErrorCode::unknown_action, "unknown-action"},
        {ErrorCode::bad_room_id, "bad-room-id"},
        {ErrorCode::bad_name, "bad-name"},
        {ErrorCode::bad_type, "bad-type"},
        {ErrorCode::not_in_room, "not-in-room"},
        {ErrorCode::already_joined, "already-joined"},
        {ErrorCode::unknown_peer, "unknown-peer"},
        {ErrorCode::room_full, "room-full"},
    };
    for (const auto& [code, name] : codes) {
        EXPECT_EQ(to_string(code), name);
        EXPECT_EQ(reply::error(ProtocolError{code, "why", std::nullopt}),
                  R"({"action":"error","code":")" + std::string(name) + R"(","message":"why"})");
    }
}

TEST(Protocol, ErrorReplyIncludesRequestWhenKnown)
{
    EXPECT_EQ(reply::error(ProtocolError{ErrorCode::room_full, "room is full", "join"}),
              R"({"action":"error","code":"room-full","message":"room is full","request":"join"})");
    EXPECT_EQ(
        reply::error(ProtocolError{ErrorCode::unknown_action, "m", "a\"b\0c"s}),
        R"({"action":"error","code":"unknown-action","message":"m","request":"a\"b\u0000c"})");
}

TEST(Protocol, RefusalsCarryAHumanReadableMessage)
{
    for (const char* text :
         {"", "[]", "{}", R"({"action":"x"})", R"({"action":"join","roomId":""})",
          R"({"action":"join","roomId":"r","name":"\u0001"})",
          R"({"action":"signal","roomId":"r","type":"x"})"})
        EXPECT_FALSE(error_of(text).message.empty()) << text;
}

TEST(Protocol, RepliesEscapeStringsAsJson)
{
    EXPECT_EQ(reply::left("a\"b\\c/\xC3\xA9\xF0\x9F\x98\x80"),
              "{\"action\":\"left\",\"roomId\":\"a\\\"b\\\\c/\xC3\xA9\xF0\x9F\x98\x80\"}");
    EXPECT_EQ(
        reply::peer_joined("r", Peer{"id", "a\nb\x01"}),
        R"({"action":"peer-joined","roomId":"r","peer":{"clientId":"id","name":"a\nb\u0001"}})");
}

TEST(Protocol, RepliesNeverThrowOnInvalidUtf8AndStayValidJson)
{
    std::string out;
    EXPECT_NO_THROW(out = reply::left("\xFF\xC3"));
    EXPECT_TRUE(nlohmann::json::accept(out)) << out;
    EXPECT_NO_THROW(out = reply::error(ProtocolError{ErrorCode::bad_json, "\xED\xA0\x80", "\x80"}));
    EXPECT_TRUE(nlohmann::json::accept(out)) << out;
}

TEST(Protocol, EveryReplyIsValidJson)
{
    const std::vector<Peer> peers = {{"a", "Ann"}, {"b", std::nullopt}};
    for (const std::string& out :
         {reply::joined("r", "c", peers), reply::peer_joined("r", peers[0]),
          reply::peer_left("r", "a"), reply::left("r"),
          reply::signal("r", "a", SignalType::offer, R"({"x":[1,2]})", "b"),
          reply::error(ProtocolError{ErrorCode::bad_json, "m", "join"})})
        EXPECT_TRUE(nlohmann::json::accept(out)) << out;
}

TEST(Protocol, RepliesEscapeEveryStringAsTheJsonLibraryDoes)
{
    // Plain printable ASCII is copied between quotes; everything else goes through nlohmann
    // (invalid UTF-8 replaced by U+FFFD). Both must give nlohmann's bytes, for every byte value
    // in a room id, a sender id, a target and an error message.
    const auto quoted = [](std::string_view s) {
        return nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    };
    std::vector<std::string> strings = {
        "",     "room-1", "w2e6rj1ydu", "a b",         "~",     "\x7f", "caf\xc3\xa9",
        "\xff", "\xc3",   "ok\"quote",  "back\\slash", "tab\t", "\x01", "\xf0\x9f\x98\x80"};
    for (int byte = 0; byte < 256; ++byte)
        strings.push_back("x" + std::string(1, static_cast<char>(byte)) + "y");
    for (const std::string& s : strings) {
        SCOPED_TRACE(testing::PrintToString(s));
        EXPECT_EQ(reply::signal(s, s, SignalType::offer, std::nullopt, s),
                  R"({"action":"signal","roomId":)" + quoted(s) + R"(,"from":)" + quoted(s) +
                      R"(,"type":"offer","to":)" + quoted(s) + "}");
        EXPECT_EQ(reply::error(ProtocolError{ErrorCode::bad_json, s, std::nullopt}),
                  R"({"action":"error","code":"bad-json","message":)" + quoted(s) + "}");
    }
}

} // namespace protocol_test
} // namespace signald

// --- report (docs/protocol.md 5.8) ------------------------------------------------------------

namespace signald {
namespace protocol_test {

std::string report_with(std::string_view fields)
{
    return R"({"action":"report","roomId":"r","peer":"abcdefghij",)" + std::string(fields) + "}";
}

TEST(ProtocolReport, AConnectedReportCarriesItsPathAndAFailedOneNone)
{
    const auto report = request_of<ReportRequest>(
        report_with(R"("ice":"connected","local":"relay","remote":"prflx","protocol":"tls")"));
    EXPECT_EQ(report.room_id, "r");
    EXPECT_EQ(report.peer, "abcdefghij");
    ASSERT_TRUE(report.path);
    EXPECT_EQ(report.path->local, CandidateType::relay);
    EXPECT_EQ(report.path->remote, CandidateType::prflx);
    EXPECT_EQ(report.path->protocol, IceProtocol::over_tls);

    // A failure needs no path, and one sent anyway (even a wrong one) is not read.
    EXPECT_FALSE(request_of<ReportRequest>(report_with(R"("ice":"failed")")).path);
    EXPECT_FALSE(request_of<ReportRequest>(report_with(R"("ice":"failed","local":"moon")")).path);
    EXPECT_EQ(action_of(Request{request_of<ReportRequest>(report_with(R"("ice":"failed")"))}),
              "report");
}

TEST(ProtocolReport, EveryCandidateTypeAndProtocolIsKnownByItsWireName)
{
    for (const char* type : {"host", "srflx", "prflx", "relay"})
        for (const char* protocol : {"udp", "tcp", "tls"}) {
            const auto report = request_of<ReportRequest>(
                report_with(std::string(R"("ice":"connected","local":")") + type +
                            R"(","remote":")" + type + R"(","protocol":")" + protocol + R"(")"));
            ASSERT_TRUE(report.path);
            EXPECT_EQ(to_string(report.path->local), type);
            EXPECT_EQ(to_string(report.path->remote), type);
            EXPECT_EQ(to_string(report.path->protocol), protocol);
        }
    // Escaped in the JSON, still the same name.
    EXPECT_EQ(
        outcome(report_with(
            R"("ice":"conn\u0065cted","local":"ho\u0073t","remote":"host","protocol":"udp")")),
        "ok");
}

TEST(ProtocolReport, TypesAreCheckedInOrderBeforeAnyValue)
{
    // Step 5: peer, ice, local, remote, protocol, then roomId; step 6: roomId, then the values.
    EXPECT_EQ(error_of(R"({"action":"report","roomId":"","ice":"x"})").message,
              "peer must be a string");
    EXPECT_EQ(error_of(R"({"action":"report","roomId":"","peer":null,"ice":"x"})").message,
              "peer must be a string");
    EXPECT_EQ(error_of(R"({"action":"report","roomId":"","peer":"p"})").message,
              "ice must be a string");
    EXPECT_EQ(error_of(R"({"action":"report","roomId":"","peer":"p","ice":true})").message,
              "ice must be a string");
    EXPECT_EQ(error_of(report_with(R"("ice":"x","local":1)")).message, "local must be a string");
    EXPECT_EQ(error_of(report_with(R"("ice":"x","local":"x","remote":[])")).message,
              "remote must be a string");
    EXPECT_EQ(error_of(report_with(R"("ice":"x","protocol":null)")).message,
              "protocol must be a string");
    EXPECT_EQ(error_of(R"({"action":"report","peer":"p","ice":"x"})").message,
              "roomId must be a string");
    EXPECT_EQ(outcome(R"({"action":"report","roomId":"","peer":"p","ice":"x"})"), "bad-room-id");
    const ProtocolError error = error_of(report_with(R"("ice":"x","protocol":1)"));
    EXPECT_EQ(error.code, ErrorCode::bad_message);
    EXPECT_EQ(error.request, "report");
}

TEST(ProtocolReport, UnknownValuesAreBadReportInFieldOrder)
{
    const auto refused = [](std::string_view fields, std::string_view message) {
        const ProtocolError error = error_of(report_with(fields));
        EXPECT_EQ(error.code, ErrorCode::bad_report) << fields;
        EXPECT_EQ(error.message, message) << fields;
        EXPECT_EQ(error.request, "report");
    };
    refused(R"("ice":"Connected")", "ice must be connected or failed");
    refused(R"("ice":"checking","local":"moon")", "ice must be connected or failed");
    refused(R"("ice":"connected")", "local must be host, srflx, prflx or relay");
    refused(R"("ice":"connected","local":"HOST","remote":"x","protocol":"x")",
            "local must be host, srflx, prflx or relay");
    refused(R"("ice":"connected","local":"host","protocol":"udp")",
            "remote must be host, srflx, prflx or relay");
    refused(R"("ice":"connected","local":"host","remote":"relay ","protocol":"udp")",
            "remote must be host, srflx, prflx or relay");
    refused(R"("ice":"connected","local":"host","remote":"host")",
            "protocol must be udp, tcp or tls");
    refused(R"("ice":"connected","local":"host","remote":"host","protocol":"dtls")",
            "protocol must be udp, tcp or tls");
    EXPECT_EQ(to_string(ErrorCode::bad_report), "bad-report");
}

} // namespace protocol_test
} // namespace signald
