#include "signald/core/utf8.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

namespace signald {
namespace utf8_test {

std::string bytes(std::initializer_list<int> values)
{
    std::string out;
    for (int value : values)
        out.push_back(static_cast<char>(value));
    return out;
}

std::size_t length_of(std::initializer_list<int> values)
{
    return utf8::sequence_length(bytes(values), 0);
}

// An independent decoder straight from the definition: decode the bits, then reject overlong
// forms, surrogates and code points past U+10FFFF. Returns the sequence length or 0.
std::size_t reference_length(const std::string& text)
{
    const auto lead = static_cast<unsigned char>(text[0]);
    std::size_t length = 0;
    std::uint32_t code_point = 0;
    if (lead < 0x80)
        return 1;
    if ((lead & 0xE0) == 0xC0) {
        length = 2;
        code_point = lead & 0x1Fu;
    } else if ((lead & 0xF0) == 0xE0) {
        length = 3;
        code_point = lead & 0x0Fu;
    } else if ((lead & 0xF8) == 0xF0) {
        length = 4;
        code_point = lead & 0x07u;
    } else {
        return 0;
    }
    if (text.size() < length)
        return 0;
    for (std::size_t i = 1; i < length; ++i) {
        const auto byte = static_cast<unsigned char>(text[i]);
        if ((byte & 0xC0) != 0x80)
            return 0;
        code_point = (code_point << 6) | (byte & 0x3Fu);
    }
    const std::uint32_t smallest[] = {0, 0, 0x80, 0x800, 0x10000};
    if (code_point < smallest[length] || code_point > 0x10FFFF ||
        (code_point >= 0xD800 && code_point <= 0xDFFF))
        return 0;
    return length;
}

TEST(Utf8, AsciiBytesAreOneByteSequences)
{
    EXPECT_EQ(length_of({0x00}), 1u);
    EXPECT_EQ(length_of({0x41}), 1u);
    EXPECT_EQ(length_of({0x7F}), 1u);
}

TEST(Utf8, LoneContinuationBytesAreRejected)
{
    EXPECT_EQ(length_of({0x80}), 0u);
    EXPECT_EQ(length_of({0xBF, 0x80}), 0u);
}

TEST(Utf8, TwoByteBoundaries)
{
    EXPECT_EQ(length_of({0xC0, 0x80}), 0u); // overlong U+0000
    EXPECT_EQ(length_of({0xC1, 0xBF}), 0u); // overlong U+007F
    EXPECT_EQ(length_of({0xC2, 0x80}), 2u); // U+0080
    EXPECT_EQ(length_of({0xDF, 0xBF}), 2u); // U+07FF
    EXPECT_EQ(length_of({0xC3, 0xA9}), 2u); // é
}

TEST(Utf8, ThreeByteBoundaries)
{
    EXPECT_EQ(length_of({0xE0, 0x80, 0x80}), 0u); // overlong U+0000
    EXPECT_EQ(length_of({0xE0, 0x9F, 0xBF}), 0u); // overlong U+07FF
    EXPECT_EQ(length_of({0xE0, 0xA0, 0x80}), 3u); // U+0800
    EXPECT_EQ(length_of({0xED, 0x9F, 0xBF}), 3u); // U+D7FF
    EXPECT_EQ(length_of({0xED, 0xA0, 0x80}), 0u); // U+D800, a surrogate
    EXPECT_EQ(length_of({0xED, 0xBF, 0xBF}), 0u); // U+DFFF, a surrogate
    EXPECT_EQ(length_of({0xEE, 0x80, 0x80}), 3u); // U+E000
    EXPECT_EQ(length_of({0xEF, 0xBF, 0xBF}), 3u); // U+FFFF
    EXPECT_EQ(length_of({0xE2, 0x82, 0xAC}), 3u); // €
}

TEST(Utf8, FourByteBoundaries)
{
    EXPECT_EQ(length_of({0xF0, 0x80, 0x80, 0x80}), 0u); // overlong
    EXPECT_EQ(length_of({0xF0, 0x8F, 0xBF, 0xBF}), 0u); // overlong U+FFFF
    EXPECT_EQ(length_of({0xF0, 0x90, 0x80, 0x80}), 4u); // U+10000
    EXPECT_EQ(length_of({0xF0, 0x9F, 0x98, 0x80}), 4u); // 😀
    EXPECT_EQ(length_of({0xF4, 0x8F, 0xBF, 0xBF}), 4u); // U+10FFFF
    EXPECT_EQ(length_of({0xF4, 0x90, 0x80, 0x80}), 0u); // U+110000
    EXPECT_EQ(length_of({0xF5, 0x80, 0x80, 0x80}), 0u);
    EXPECT_EQ(length_of({0xF7, 0xBF, 0xBF, 0xBF}), 0u);
}

TEST(Utf8, LeadBytesThatNeverStartASequenceAreRejected)
{
    for (int lead : {0xF5, 0xF6, 0xF7, 0xF8, 0xFB, 0xFC, 0xFD, 0xFE, 0xFF})
        EXPECT_EQ(length_of({lead, 0x80, 0x80, 0x80, 0x80, 0x80}), 0u) << lead;
}

TEST(Utf8, TruncatedSequencesAreRejected)
{
    EXPECT_EQ(length_of({0xC2}), 0u);
    EXPECT_EQ(length_of({0xE0, 0xA0}), 0u);
    EXPECT_EQ(length_of({0xE2}), 0u);
    EXPECT_EQ(length_of({0xF0, 0x90, 0x80}), 0u);
    EXPECT_EQ(length_of({0xF0, 0x90}), 0u);
    EXPECT_EQ(length_of({0xF4}), 0u);
}

TEST(Utf8, SequencesInterruptedByANonContinuationByteAreRejected)
{
    EXPECT_EQ(length_of({0xC2, 0x41}), 0u);
    EXPECT_EQ(length_of({0xC2, 0xC0}), 0u);
    EXPECT_EQ(length_of({0xE1, 0x80, 0x41}), 0u);
    EXPECT_EQ(length_of({0xE1, 0x41, 0x80}), 0u);
    EXPECT_EQ(length_of({0xF1, 0x80, 0x80, 0x41}), 0u);
    EXPECT_EQ(length_of({0xF1, 0x80, 0xC0, 0x80}), 0u);
}

TEST(Utf8, SequenceLengthLooksOnlyAtThePositionGiven)
{
    const std::string text = "a\xC3\xA9"
                             "b\xF0\x9F\x98\x80";
    EXPECT_EQ(utf8::sequence_length(text, 0), 1u);
    EXPECT_EQ(utf8::sequence_length(text, 1), 2u);
    EXPECT_EQ(utf8::sequence_length(text, 2), 0u); // the middle of é
    EXPECT_EQ(utf8::sequence_length(text, 3), 1u);
    EXPECT_EQ(utf8::sequence_length(text, 4), 4u);
    // A sequence cut short by the end of the view is rejected even if the bytes exist beyond it.
    EXPECT_EQ(utf8::sequence_length(std::string_view(text).substr(0, 7), 4), 0u);
}

TEST(Utf8, SequenceLengthAgreesWithAReferenceDecoderOnEveryShortSequence)
{
    // Every lead byte with every second byte, and for three-byte leads every third byte too: all
    // one- to three-byte sequences and all their malformed neighbours. (Four-byte leads get a
    // third byte of 0 here, which must fail; the next test covers them properly.)
    std::string text(3, '\0');
    std::size_t mismatches = 0;
    for (int lead = 0; lead < 256; ++lead) {
        const int thirds = lead >= 0xE0 && lead <= 0xEF ? 256 : 1;
        for (int second = 0; second < 256; ++second) {
            for (int third = 0; third < thirds; ++third) {
                text[0] = static_cast<char>(lead);
                text[1] = static_cast<char>(second);
                text[2] = static_cast<char>(third);
                if (utf8::sequence_length(text, 0) != reference_length(text) && ++mismatches < 10)
                    ADD_FAILURE() << "bytes " << lead << " " << second << " " << third;
            }
        }
    }
    EXPECT_EQ(mismatches, 0u);
}

TEST(Utf8, SequenceLengthAgreesWithAReferenceDecoderOnFourByteSequences)
{
    const std::vector<int> tails = {0x00, 0x41, 0x7F, 0x80, 0x9F, 0xA0, 0xBF, 0xC0, 0xF4, 0xFF};
    std::string text(4, '\0');
    std::size_t mismatches = 0;
    for (int lead = 0xF0; lead < 256; ++lead) {
        for (int second = 0; second < 256; ++second) {
            for (int third : tails) {
                for (int fourth : tails) {
                    text[0] = static_cast<char>(lead);
                    text[1] = static_cast<char>(second);
                    text[2] = static_cast<char>(third);
                    text[3] = static_cast<char>(fourth);
                    if (utf8::sequence_length(text, 0) != reference_length(text) &&
                        ++mismatches < 10)
                        ADD_FAILURE()
                            << "bytes " << lead << " " << second << " " << third << " " << fourth;
                }
            }
        }
    }
    EXPECT_EQ(mismatches, 0u);
}

TEST(Utf8, CountCodePointsCountsCharactersNotBytes)
{
    EXPECT_EQ(utf8::count_code_points(""), 0u);
    EXPECT_EQ(utf8::count_code_points("abc"), 3u);
    EXPECT_EQ(utf8::count_code_points("\xC3\xA9"), 1u);         // é
    EXPECT_EQ(utf8::count_code_points("\xE2\x82\xAC"), 1u);     // €
    EXPECT_EQ(utf8::count_code_points("\xF0\x9F\x98\x80"), 1u); // 😀
    EXPECT_EQ(utf8::count_code_points("a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80z"), 5u);
    EXPECT_EQ(utf8::count_code_points(std::string("a\0b", 3)), 3u); // NUL is a code point
}

TEST(Utf8, CountCodePointsOfLongTexts)
{
    std::string e_acute;
    std::string emoji;
    for (int i = 0; i < 64; ++i) {
        e_acute += "\xC3\xA9";
        emoji += "\xF0\x9F\x98\x80";
    }
    EXPECT_EQ(utf8::count_code_points(e_acute), 64u);
    EXPECT_EQ(utf8::count_code_points(emoji), 64u);
    EXPECT_EQ(utf8::count_code_points(std::string(250'000, 'x')), 250'000u);
}

} // namespace utf8_test
} // namespace signald
