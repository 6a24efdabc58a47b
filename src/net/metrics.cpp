#include "signald/net/metrics.hpp"

#include <cstdio>

namespace signald {
namespace {

// In HELP text only backslash and newline are special; label values also escape the quote.
void append_escaped(std::string& out, std::string_view text, bool quote)
{
    for (const char c : text) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '\n')
            out += "\\n";
        else if (c == '"' && quote)
            out += "\\\"";
        else
            out += c;
    }
}

} // namespace

std::string_view to_string(ClosedBy by)
{
    return by == ClosedBy::server ? "server" : "client";
}

std::string close_code_label(std::uint16_t code)
{
    if (code >= 3000 && code <= 3999)
        return "3xxx";
    if (code >= 4000 && code <= 4999)
        return "4xxx";
    return std::to_string(code);
}

void NetStats::count_close(ClosedBy by, std::uint16_t code)
{
    // One key per bucket, so the label is the same whichever code of the range came first.
    if (code >= 3000 && code <= 4999)
        code = static_cast<std::uint16_t>(code / 1000 * 1000);
    ++closes_[{by, code}];
}

void PrometheusText::family(std::string_view name, std::string_view type, std::string_view help)
{
    name_ = name;
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    append_escaped(out_, help, false);
    out_ += "\n# TYPE ";
    out_ += name;
    out_ += ' ';
    out_ += type;
    out_ += '\n';
}

void PrometheusText::sample(std::initializer_list<Label> labels, std::uint64_t value)
{
    sample_text(labels, std::to_string(value));
}

void PrometheusText::sample_text(std::initializer_list<Label> labels, std::string_view value)
{
    out_ += name_;
    if (labels.size() > 0) {
        char separator = '{';
        for (const auto& [key, label_value] : labels) {
            out_ += separator;
            out_ += key;
            out_ += "=\"";
            append_escaped(out_, label_value, true);
            out_ += '"';
            separator = ',';
        }
        out_ += '}';
    }
    out_ += ' ';
    out_ += value;
    out_ += '\n';
}

void PrometheusText::sample_seconds(std::chrono::microseconds value)
{
    sample_seconds({}, value);
}

void PrometheusText::sample_seconds(std::initializer_list<Label> labels,
                                    std::chrono::microseconds value)
{
    const auto micros = value.count() < 0 ? 0 : value.count();
    char text[32];
    std::snprintf(text, sizeof text, "%lld.%06lld", static_cast<long long>(micros / 1000000),
                  static_cast<long long>(micros % 1000000));
    sample_text(labels, text);
}

} // namespace signald
