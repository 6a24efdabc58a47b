#include "signald/core/json_scan.hpp"

#include "json_reference.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace signald {
namespace json_scan_test {

using json_scan::Shape;
using namespace std::string_literals;

Shape shape_of(std::string_view text)
{
    return json_scan::scan_object(text, [](std::string_view, std::string_view) {});
}

bool scan_accepts(std::string_view text)
{
    return shape_of(text) != Shape::invalid;
}

// The verdict json_scan must reach: nlohmann::json::accept, except where nlohmann departs from
// RFC 8259 and JavaScript's JSON.parse, which json_scan follows (see json_scan.hpp): a NUL byte,
// a leading byte order mark, a number too large for a double. The fuzz targets hold the scanner
// to the same rule, so both use fuzz/json_reference.hpp.
bool reference_accepts(const std::string& text)
{
    return fuzz::is_valid_json(text);
}

// The member slices scan_object reported, rebuilt into a DOM (last duplicate wins, as in
// nlohmann), or a discarded value if the text is not an object nlohmann can build.
nlohmann::json rebuild_from_members(std::string_view text)
{
    nlohmann::json rebuilt = nlohmann::json::object();
    bool ok = true;
    const Shape shape =
        json_scan::scan_object(text, [&](std::string_view key, std::string_view value) {
            EXPECT_GE(key.data(), text.data());
            EXPECT_LE(value.data() + value.size(), text.data() + text.size());
            auto parsed = nlohmann::json::parse(value, nullptr, false);
            if (parsed.is_discarded())
                ok = false;
            else
                rebuilt[json_scan::decode_string(key)] = std::move(parsed);
        });
    if (shape != Shape::object || !ok)
        return nlohmann::json(nlohmann::json::value_t::discarded);
    return rebuilt;
}

// Checks one text against the reference, and for a valid object also the member slices.
void expect_agrees(const std::string& text)
{
    const bool expected = reference_accepts(text);
    const Shape shape = shape_of(text);
    ASSERT_EQ(shape != Shape::invalid, expected)
        << "text: "
        << nlohmann::json(text).dump(-1, ' ', true, nlohmann::json::error_handler_t::replace);
    if (!expected)
        return;
    const std::size_t first = json_scan::skip_whitespace(text, 0);
    EXPECT_EQ(shape == Shape::object, text[first] == '{') << text;
    if (shape == Shape::object) {
        const auto whole = nlohmann::json::parse(text, nullptr, false);
        if (!whole.is_discarded()) {
            EXPECT_EQ(rebuild_from_members(text), whole) << text;
        }
    }
}

std::string repeat(std::string_view part, std::size_t times)
{
    std::string out;
    out.reserve(part.size() * times);
    for (std::size_t i = 0; i < times; ++i)
        out += part;
    return out;
}

std::vector<std::string> hand_written_cases()
{
    std::vector<std::string> cases = {
        // Numbers.
        "0",
        "-0",
        "1",
        "-1",
        "10",
        "01",
        "-01",
        "00",
        "1.",
        "1.0",
        ".5",
        "-.5",
        "1e5",
        "1E5",
        "1e+5",
        "1e-5",
        "1E+05",
        "1e",
        "1e+",
        "1e-",
        "1E+-5",
        "-",
        "+1",
        "1.5e3",
        "1.e3",
        "0e0",
        "0.0e-0",
        "-0.0",
        "1ee5",
        "1.2.3",
        "1e5.5",
        "1e5e5",
        "2.",
        "0.",
        "0.e1",
        "-a",
        "--1",
        "123456789012345678901234567890",
        "9223372036854775807",
        "18446744073709551615",
        "18446744073709551616",
        "-9223372036854775808",
        "-9223372036854775809",
        "1.7976931348623157e308",
        "1.7976931348623159e308",
        "1e400",
        "-1e400",
        "1e-400",
        "1e99999999999999999999",
        "0e99999999999999999999",
        "1e400.5",
        "[1e400,]",
        "0x10",
        "Infinity",
        "-Infinity",
        "NaN",
        "1_000",
        "\xEF\xBC\x91",
        "1 2",
        "- 1",
        "1 .5",
        "1. 5",
        "1e 5",
        "0.000000000000000000000000000001",
        repeat("9", 400),
        repeat("9", 300),
        // Literals.
        "true",
        "false",
        "null",
        "tru",
        "nul",
        "fals",
        "t",
        "n",
        "f",
        "True",
        "NULL",
        "FALSE",
        "truee",
        "nulll",
        "true false",
        "nan",
        "undefined",
        "truefalse",
        "nul l",
        // Strings and escapes.
        R"("")",
        R"("abc")",
        R"("\"\\\/\b\f\n\r\t")",
        R"("\u0000")",
        R"("\u001f")",
        R"("\u00e9")",
        R"("\u00E9")",
        R"("\uFFFF")",
        R"("\uFEFF")",
        R"("\ud83d\ude00")",
        R"("\uD83D\uDE00")",
        R"("\udbff\udfff")",
        R"("\ud800\udc00")",
        R"("\ud800")",
        R"("\udbff")",
        R"("\udc00")",
        R"("\udfff")",
        R"("\ud800\ud800")",
        R"("\udc00\ud800")",
        R"("\ud800x")",
        R"("\ud800\u0041")",
        R"("\ud800\\")",
        R"("\ud800\n")",
        R"("\ud800\u")",
        R"("\ud800\udc0")",
        R"("\ud800\uZZZZ")",
        R"("\ud800)",
        R"("\ud8")",
        R"("\u12")",
        R"("\u12G4")",
        R"("\u")",
        R"("\u 123")",
        R"("\x41")",
        R"("\a")",
        R"("\'")",
        R"("\0")",
        R"("\U0041")",
        R"("\)",
        R"("\")",
        R"("abc)",
        R"(")",
        "'abc'",
        R"("a"b")",
        "\"a\tb\"",
        "\"a\nb\"",
        "\"a\rb\"",
        "\"\x01\"",
        "\"\x1f\"",
        "\"\x7f\"",
        "\"\x20\"",
        "\"\x08\"",
        "\"\x0c\"",
        // UTF-8 inside strings: well-formed, overlong, surrogates, out of range, truncated.
        "\"\xC3\xA9\"",
        "\"\xE2\x82\xAC\"",
        "\"\xF0\x9F\x98\x80\"",
        "\"\xF4\x8F\xBF\xBF\"",
        "\"\xEF\xBB\xBF\"",
        "\"\xC2\x80\"",
        "\"\xDF\xBF\"",
        "\"\xE0\xA0\x80\"",
        "\"\xED\x9F\xBF\"",
        "\"\xEE\x80\x80\"",
        "\"\xF0\x90\x80\x80\"",
        "\"\xC0\x80\"",
        "\"\xC1\xBF\"",
        "\"\xE0\x80\xAF\"",
        "\"\xE0\x9F\xBF\"",
        "\"\xF0\x80\x80\xAF\"",
        "\"\xF0\x8F\xBF\xBF\"",
        "\"\xED\xA0\x80\"",
        "\"\xED\xBF\xBF\"",
        "\"\xED\xA0\x80\xED\xB0\x80\"",
        "\"\xF4\x90\x80\x80\"",
        "\"\xF5\x80\x80\x80\"",
        "\"\xF8\x88\x80\x80\x80\"",
        "\"\xFF\"",
        "\"\xFE\"",
        "\"\x80\"",
        "\"\xBF\"",
        "\"\xC3\"",
        "\"\xE2\x82\"",
        "\"\xF0\x9F\x98\"",
        "\"\xC3",
        "\"\xE2\x82",
        "\"\xC3\x28\"",
        "\"\xE2\x28\xA1\"",
        "\"\xF0\x28\x8C\xBC\"",
        "\"a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80z\"",
        // UTF-8 outside strings.
        "\xC3\xA9",
        "[\xFF]",
        "{\"a\":\xC3\xA9}",
        "\xC2\xA0{}",
        // Objects and arrays.
        "{}",
        "[]",
        "{ }",
        "[ ]",
        "{\"a\":1}",
        "{\"a\":1,}",
        "[1,]",
        "[,1]",
        "[1,,2]",
        "{,}",
        "{\"a\"}",
        "{\"a\":}",
        "{\"a\" 1}",
        "{\"a\"::1}",
        "{a:1}",
        "{1:1}",
        "{null:1}",
        "{'a':1}",
        "{\"a\":1 \"b\":2}",
        "{\"a\":1,\"a\":2}",
        "{\"a\":1;\"b\":2}",
        "[1 2]",
        "[1;2]",
        "[",
        "]",
        "{",
        "}",
        "[[]]",
        "[[[]]]",
        "[{}]",
        "{\"a\":{}}",
        "{\"a\":[]}",
        "[[]",
        "[]]",
        "{\"a\":{}",
        "{\"a\":[}",
        "[}",
        "{]",
        "[{]}",
        "{\"a\":1}}",
        "{\"a\":1}{",
        "{}{}",
        "[][]",
        "{} []",
        "{\"a\":[1,{\"b\":[2,{\"c\":null}]}]}",
        "[\"a\",{\"b\":\"c\"},[true,false,null],-1.5e-3]",
        "{\"\":\"\"}",
        "{\"\\u0061\":1}",
        "{\"a\\\"b\":1}",
        "{\"a\":1,\"b\":[],\"c\":{},\"d\":\"\",\"e\":null,\"f\":true}",
        "[[[[[[[[[[1]]]]]]]]]]",
        "[[[[[[[[[[1]]]]]]]]]",
        "{\"a\":{\"b\":{\"c\":{}}}}",
        "{\"a\":{\"b\":{\"c\":{}}}",
        "[{\"a\":[{\"a\":[]}]}]",
        // Whitespace, emptiness and trailing garbage.
        "",
        " ",
        "\t\n\r ",
        " {} ",
        "\t[1]\n",
        "\r\n{\"a\" : 1 }\r\n",
        "{}\f",
        "\v{}",
        "\f{}",
        "{}x",
        "1x",
        "truex",
        "null,",
        "[],",
        "\"a\"\"b\"",
        "{} /* */",
        "/**/{}",
        "// c\n{}",
        "{\"a\":1}#",
        "{}\n\n",
        "[1]\t",
        "{}\x1b",
        // NUL bytes and byte order marks (nlohmann disagrees here; see reference_accepts).
        "{}\0"s,
        "\0{}"s,
        "[1,\0 2]"s,
        "1\0"s,
        "\0"s,
        "\"a\0\""s,
        "{\"a\":1}\0garbage"s,
        "\xEF\xBB\xBF{}",
        "\xEF\xBB\xBF",
        "\xEF\xBB\xBF[1]",
        " \xEF\xBB\xBF{}",
        "\xEF\xBB{}",
    };

    // Deep but finite nesting that nlohmann can still rebuild and compare.
    cases.push_back(repeat("[", 500) + repeat("]", 500));
    cases.push_back(repeat("[", 500) + repeat("]", 499));
    cases.push_back(repeat("[", 499) + repeat("]", 500));
    cases.push_back(repeat("{\"a\":", 500) + "1" + repeat("}", 500));
    cases.push_back(repeat("{\"a\":", 500) + "1" + repeat("}", 499));
    cases.push_back(repeat("[{\"a\":", 300) + "null" + repeat("}]", 300));
    cases.push_back(repeat("[{\"a\":", 300) + "null" + repeat("]}", 300));
    cases.push_back("[" + repeat("1,", 1000) + "1]");
    cases.push_back("{" + repeat("\"k\":1,", 1000) + "\"k\":2}");
    return cases;
}

TEST(JsonScan, HandWrittenTextsGetTheSameVerdictAsTheReferenceParser)
{
    for (const std::string& text : hand_written_cases()) {
        // Each text alone, and in the places a value can appear inside a container.
        for (const std::string& variant :
             {text, "[" + text + "]", "{\"k\":" + text + "}", "{\"k\":[0," + text + "]}",
              "{\"k\":{\"j\":" + text + "},\"m\":2}", " " + text + " ", "{" + text + ":0}",
              "[" + text + "," + text + "]"}) {
            SCOPED_TRACE(text);
            expect_agrees(variant);
        }
    }
}

TEST(JsonScan, ReferenceParserVerdictsForKeyCasesAreAsExpected)
{
    // Guards the differential test itself: if the reference drifted (say it accepted everything),
    // agreement would prove nothing.
    EXPECT_TRUE(reference_accepts("-0"));
    EXPECT_TRUE(reference_accepts("1e5"));
    EXPECT_FALSE(reference_accepts("01"));
    EXPECT_FALSE(reference_accepts("1."));
    EXPECT_FALSE(reference_accepts(".5"));
    EXPECT_FALSE(reference_accepts("-"));
    EXPECT_TRUE(reference_accepts(R"("\ud83d\ude00")"));
    EXPECT_FALSE(reference_accepts(R"("\ud800")"));
    EXPECT_FALSE(reference_accepts("\"\xED\xA0\x80\""));
    EXPECT_FALSE(reference_accepts("\"\xF4\x90\x80\x80\""));
    EXPECT_FALSE(reference_accepts("\"\xC0\x80\""));
    EXPECT_FALSE(reference_accepts("[1,]"));
    EXPECT_FALSE(reference_accepts(""));
    EXPECT_FALSE(reference_accepts(" "));
    EXPECT_TRUE(reference_accepts("[1e400]"));
    EXPECT_FALSE(reference_accepts("[1e400,]"));
    EXPECT_FALSE(reference_accepts("1e400.5"));
}

// Valid texts of many shapes for the randomized test to mutate.
const std::vector<std::string>& seeds()
{
    static const std::vector<std::string> texts = {
        R"({"action":"join","roomId":"lobby","name":"Ann"})",
        R"({"action":"signal","roomId":"r","type":"offer","data":{"sdp":"v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\n","type":"offer"},"to":"aaaaaaaaa1"})",
        R"({"action":"signal","roomId":"r","type":"ice-candidate","data":{"candidate":"candidate:1 1 udp 2122260223 192.168.1.2 54321 typ host","sdpMid":"0","sdpMLineIndex":0}})",
        R"([1,-2.5e-3,0,-0,1E+10,true,false,null,"",{}])",
        R"({"a":{"b":{"c":[[],[{}],[[1]]]}},"d":"\u00e9\ud83d\ude00\n\t\"\\\/"})",
        "{\"utf8\":\"\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\",\"k\":\"\\uFFFF\"}",
        R"("just a string")",
        R"(12345.678e-9)",
        R"({ "spaced" : [ 1 , 2 , { "x" : null } ] , "y" : "z" })",
        R"({"":"","\u0061ction":"join","roomId":"\u0041"})",
    };
    return texts;
}

std::string mutate(std::string text, std::mt19937& rng)
{
    static constexpr std::string_view interesting =
        "{}[]\":,\\ \t\n.-+eE0123456789tfnulrsaxu/\x7f\x01\x00\xC3\xA9\xED\xA0\x80\xF4\x90\xBF\xFF";
    auto pick = [&](std::size_t bound) {
        return std::uniform_int_distribution<std::size_t>(0, bound - 1)(rng);
    };
    auto random_byte = [&]() {
        if (pick(2) == 0)
            return interesting[pick(interesting.size())];
        return static_cast<char>(pick(256));
    };
    const std::size_t edits = 1 + pick(3);
    for (std::size_t e = 0; e < edits; ++e) {
        const std::size_t where = text.empty() ? 0 : pick(text.size() + 1);
        switch (pick(6)) {
        case 0: // flip a byte
            if (where < text.size())
                text[where] = random_byte();
            break;
        case 1: // insert a byte
            text.insert(text.begin() + static_cast<std::ptrdiff_t>(where), random_byte());
            break;
        case 2: // delete a byte
            if (where < text.size())
                text.erase(where, 1);
            break;
        case 3: // truncate
            text.resize(where);
            break;
        case 4: { // duplicate a slice
            const std::size_t length = pick(8);
            text.insert(where, text.substr(where, length));
            break;
        }
        default: { // insert a JSON fragment
            static const std::vector<std::string> fragments = {
                "[",
                "]",
                "{",
                "}",
                ",",
                ":",
                "\"",
                "\\u",
                "\\ud800",
                "\\udc00",
                "1e400",
                "-0",
                "null",
                "tru",
                "\"k\":",
                ",1",
                "{}",
                "[]",
                "\xEF\xBB\xBF",
                "\xE2\x82",
            };
            text.insert(where, fragments[pick(fragments.size())]);
            break;
        }
        }
    }
    return text;
}

TEST(JsonScan, RandomlyMutatedTextsGetTheSameVerdictAsTheReferenceParser)
{
    std::mt19937 rng(20240611); // fixed: the same texts every run
    std::size_t accepted = 0;
    constexpr int iterations = 20'000;
    for (int i = 0; i < iterations; ++i) {
        const std::string& seed = seeds()[static_cast<std::size_t>(i) % seeds().size()];
        const std::string text = mutate(seed, rng);
        SCOPED_TRACE("iteration " + std::to_string(i));
        const bool expected = reference_accepts(text);
        ASSERT_EQ(scan_accepts(text), expected)
            << nlohmann::json(text).dump(-1, ' ', true, nlohmann::json::error_handler_t::replace);
        accepted += expected ? 1 : 0;
    }
    // Both verdicts must actually occur, or the mutations are too timid or too wild to test much.
    EXPECT_GT(accepted, static_cast<std::size_t>(iterations) / 20);
    EXPECT_LT(accepted, static_cast<std::size_t>(iterations) * 19 / 20);
}

TEST(JsonScan, SeedsAreValidAndTheirMembersRebuildTheSameObject)
{
    for (const std::string& seed : seeds()) {
        SCOPED_TRACE(seed);
        ASSERT_TRUE(scan_accepts(seed));
        expect_agrees(seed);
    }
}

TEST(JsonScan, EveryByteThatMattersIsSeenWhereverItFallsInALongString)
{
    // Strings are scanned 8 bytes at a time until a word holds a byte that needs a look: each
    // such byte at every offset of two words, and across the end of the text, must get the
    // reference parser's verdict, so no word boundary hides one.
    const std::vector<std::string> specials = {
        "\"",   "\\n",  "\\u00e9",          "\\",           "\x01", "\x1f", "\x7f", " ", "\xc3\xa9",
        "\xc3", "\xa9", "\xf0\x9f\x98\x80", "\xed\xa0\x80", "\xf5", "\x00", "\\x"};
    std::size_t accepted = 0;
    std::size_t cases = 0;
    for (const std::string& special : specials) {
        for (std::size_t before = 0; before <= 17; ++before) {
            for (std::size_t after = 0; after <= 17; after += 1) {
                const std::string text = "{\"k\":\"" + std::string(before, 'a') + special +
                                         std::string(after, 'b') + "\"}";
                SCOPED_TRACE(testing::PrintToString(text));
                const bool expected =
                    reference_accepts(text) && text.find('\0') == std::string::npos;
                ASSERT_EQ(scan_accepts(text), expected);
                accepted += expected ? 1 : 0;
                ++cases;
            }
        }
    }
    EXPECT_GT(accepted, cases / 4);
    EXPECT_LT(accepted, cases * 3 / 4);
}

TEST(JsonScan, ANulByteIsNeverValid)
{
    // nlohmann::json::accept stops reading at a NUL and so accepts "{}\0garbage".
    for (const std::string& text :
         {"{}\0"s, "\0{}"s, "[1,\0 2]"s, "1\0"s, "\0"s, "{\"a\":1}\0garbage"s, "\"a\0\""s})
        EXPECT_EQ(shape_of(text), Shape::invalid) << text.size();
}

TEST(JsonScan, AByteOrderMarkIsNotWhitespace)
{
    // nlohmann skips a leading BOM; JSON.parse and json_scan do not.
    EXPECT_EQ(shape_of("\xEF\xBB\xBF{}"), Shape::invalid);
    EXPECT_EQ(shape_of("\xEF\xBB\xBF[1]"), Shape::invalid);
    EXPECT_EQ(shape_of("{}\xEF\xBB\xBF"), Shape::invalid);
    EXPECT_EQ(shape_of("\"\xEF\xBB\xBF\""), Shape::not_object); // inside a string it is a character
}

TEST(JsonScan, NumbersTooLargeForADoubleAreValidJson)
{
    // The grammar has no size limit and the scanner never converts numbers; nlohmann refuses these.
    EXPECT_EQ(shape_of("1e400"), Shape::not_object);
    EXPECT_EQ(shape_of("-1e400"), Shape::not_object);
    EXPECT_EQ(shape_of(repeat("9", 400)), Shape::not_object);
    EXPECT_EQ(shape_of(R"({"data":1e99999999999999999999})"), Shape::object);
    EXPECT_EQ(shape_of("1e400.5"), Shape::invalid);
}

TEST(JsonScan, ScanObjectReportsEachMemberAsRawSlicesInOrder)
{
    const std::string text =
        R"( { "a" : 1 , "b":[1, 2] ,"c":{"d": "e"},"\u0061":"x\ny", "e":true,"f":null,"g":-1.5e3 } )";
    std::vector<std::pair<std::string_view, std::string_view>> members;
    const Shape shape =
        json_scan::scan_object(text, [&](std::string_view key, std::string_view value) {
            members.emplace_back(key, value);
        });
    ASSERT_EQ(shape, Shape::object);
    const std::vector<std::pair<std::string_view, std::string_view>> expected = {
        {R"("a")", "1"},
        {R"("b")", "[1, 2]"},
        {R"("c")", R"({"d": "e"})"},
        {R"("\u0061")", R"("x\ny")"},
        {R"("e")", "true"},
        {R"("f")", "null"},
        {R"("g")", "-1.5e3"},
    };
    EXPECT_EQ(members, expected);
    for (const auto& [key, value] : members) {
        EXPECT_TRUE(key.data() >= text.data() &&
                    key.data() + key.size() <= text.data() + text.size());
        EXPECT_TRUE(value.data() >= text.data() &&
                    value.data() + value.size() <= text.data() + text.size());
    }
}

TEST(JsonScan, ScanObjectReportsDuplicateKeysEachTime)
{
    std::vector<std::string> values;
    const Shape shape = json_scan::scan_object(
        R"({"k":1,"k":2,"k":3})",
        [&](std::string_view, std::string_view value) { values.emplace_back(value); });
    EXPECT_EQ(shape, Shape::object);
    EXPECT_EQ(values, (std::vector<std::string>{"1", "2", "3"}));
}

TEST(JsonScan, EmptyObjectHasNoMembers)
{
    int calls = 0;
    EXPECT_EQ(json_scan::scan_object(" { \n } ", [&](auto, auto) { ++calls; }), Shape::object);
    EXPECT_EQ(calls, 0);
}

TEST(JsonScan, ValidNonObjectsAreNotObjectsAndReportNoMembers)
{
    for (const char* text :
         {"[]", "[{\"a\":1}]", "\"{}\"", "0", "-1.5", "true", "false", "null", " [ {} ] "}) {
        int calls = 0;
        EXPECT_EQ(json_scan::scan_object(text, [&](auto, auto) { ++calls; }), Shape::not_object)
            << text;
        EXPECT_EQ(calls, 0) << text;
    }
}

TEST(JsonScan, EmptyAndWhitespaceOnlyInputsAreInvalid)
{
    EXPECT_EQ(shape_of(""), Shape::invalid);
    EXPECT_EQ(shape_of(" \t\r\n"), Shape::invalid);
}

TEST(JsonScan, SkipWhitespaceSkipsOnlyTheFourJsonWhitespaceBytes)
{
    EXPECT_EQ(json_scan::skip_whitespace(" \t\n\rx", 0), 4u);
    EXPECT_EQ(json_scan::skip_whitespace("x  ", 0), 0u);
    EXPECT_EQ(json_scan::skip_whitespace("x  ", 1), 3u);
    EXPECT_EQ(json_scan::skip_whitespace("\f", 0), 0u);
    EXPECT_EQ(json_scan::skip_whitespace("\v", 0), 0u);
    EXPECT_EQ(json_scan::skip_whitespace("\xC2\xA0", 0), 0u);
    EXPECT_EQ(json_scan::skip_whitespace("", 0), 0u);
}

TEST(JsonScan, SkipStringReturnsThePositionAfterTheClosingQuote)
{
    EXPECT_EQ(json_scan::skip_string(R"("abc"def)", 0), 5u);
    EXPECT_EQ(json_scan::skip_string(R"(x"a\"b"y)", 1), 7u);
    EXPECT_EQ(json_scan::skip_string(R"("")", 0), 2u);
    EXPECT_EQ(json_scan::skip_string(R"(abc)", 0), json_scan::npos);
    EXPECT_EQ(json_scan::skip_string(R"("abc)", 0), json_scan::npos);
    EXPECT_EQ(json_scan::skip_string(R"("abc\")", 0), json_scan::npos);
    EXPECT_EQ(json_scan::skip_string("", 0), json_scan::npos);
    EXPECT_EQ(json_scan::skip_string(R"("a")", 3), json_scan::npos);
}

TEST(JsonScan, SkipValueReturnsThePositionAfterOneValue)
{
    EXPECT_EQ(json_scan::skip_value("123abc", 0), 3u);
    EXPECT_EQ(json_scan::skip_value("[1,2]x", 0), 5u);
    EXPECT_EQ(json_scan::skip_value(R"({"a":1} )", 0), 7u);
    EXPECT_EQ(json_scan::skip_value("  true,", 0), 6u);
    EXPECT_EQ(json_scan::skip_value("nullnull", 0), 4u);
    EXPECT_EQ(json_scan::skip_value("-0.5e+2]", 0), 7u);
    EXPECT_EQ(json_scan::skip_value("tru", 0), json_scan::npos);
    EXPECT_EQ(json_scan::skip_value("", 0), json_scan::npos);
    EXPECT_EQ(json_scan::skip_value("   ", 0), json_scan::npos);
    EXPECT_EQ(json_scan::skip_value("[1,2", 0), json_scan::npos);
    EXPECT_EQ(json_scan::skip_value("]", 0), json_scan::npos);
}

TEST(JsonScan, DecodeStringDecodesEveryEscape)
{
    EXPECT_EQ(json_scan::decode_string(R"("")"), "");
    EXPECT_EQ(json_scan::decode_string(R"("abc")"), "abc");
    EXPECT_EQ(json_scan::decode_string(R"("\"\\\/\b\f\n\r\t")"), "\"\\/\b\f\n\r\t");
    EXPECT_EQ(json_scan::decode_string(R"("\u0041")"), "A");
    EXPECT_EQ(json_scan::decode_string(R"("\u00e9\u00E9")"), "\xC3\xA9\xC3\xA9");
    EXPECT_EQ(json_scan::decode_string(R"("\u20ac")"), "\xE2\x82\xAC");
    EXPECT_EQ(json_scan::decode_string(R"("\ud83d\ude00")"), "\xF0\x9F\x98\x80");
    EXPECT_EQ(json_scan::decode_string(R"("\udbff\udfff")"), "\xF4\x8F\xBF\xBF");
    EXPECT_EQ(json_scan::decode_string(R"("a\u0000b")"), "a\0b"s);
    EXPECT_EQ(json_scan::decode_string(R"("\u007f\u0080")"), "\x7F\xC2\x80");
}

TEST(JsonScan, DecodeStringKeepsRawUtf8AndOtherBytesAsTheyAre)
{
    EXPECT_EQ(json_scan::decode_string("\"\xC3\xA9\xF0\x9F\x98\x80\""), "\xC3\xA9\xF0\x9F\x98\x80");
    EXPECT_EQ(json_scan::decode_string("\"\xC3\xA9\\n\xF0\x9F\x98\x80\""),
              "\xC3\xA9\n\xF0\x9F\x98\x80");
    EXPECT_EQ(json_scan::decode_string("\"a\x7F b\""), "a\x7F b");
}

TEST(JsonScan, HundredThousandLevelsOfNestingAreValidAndCostNoStack)
{
    const std::string deep = repeat("[", 100'000) + repeat("]", 100'000);
    EXPECT_EQ(shape_of(deep), Shape::not_object);
    EXPECT_EQ(shape_of(repeat("[", 100'001) + repeat("]", 100'000)), Shape::invalid);
    EXPECT_EQ(shape_of(repeat("[", 100'000) + repeat("]", 100'001)), Shape::invalid);
    EXPECT_EQ(shape_of(repeat("[", 100'000)), Shape::invalid);

    const std::string wrapped = R"({"data":)" + deep + "}";
    std::string_view data;
    ASSERT_EQ(json_scan::scan_object(wrapped, [&](auto, std::string_view value) { data = value; }),
              Shape::object);
    EXPECT_EQ(data, deep);

    const std::string objects = repeat(R"({"a":)", 50'000) + "0" + repeat("}", 50'000);
    EXPECT_EQ(shape_of(objects), Shape::object);
    EXPECT_EQ(shape_of(repeat(R"([{"a":)", 30'000) + "0" + repeat("}]", 30'000)),
              Shape::not_object);
    EXPECT_EQ(shape_of(repeat(R"([{"a":)", 30'000) + "0" + repeat("]}", 30'000)), Shape::invalid);
}

TEST(JsonScan, LongStringsAndManyKeysAreValid)
{
    const std::string long_string = "\"" + repeat("x", 250'000) + "\"";
    EXPECT_EQ(shape_of(long_string), Shape::not_object);
    EXPECT_EQ(json_scan::decode_string(long_string).size(), 250'000u);

    std::string many = "{";
    for (int i = 0; i < 10'000; ++i)
        many += (i ? "," : "") + ("\"k" + std::to_string(i) + "\":" + std::to_string(i));
    many += "}";
    int calls = 0;
    EXPECT_EQ(json_scan::scan_object(many, [&](auto, auto) { ++calls; }), Shape::object);
    EXPECT_EQ(calls, 10'000);
}

} // namespace json_scan_test
} // namespace signald
