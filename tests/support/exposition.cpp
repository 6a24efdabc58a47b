#include "exposition.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <optional>
#include <set>
#include <utility>

namespace signald::test {
namespace {

bool is_metric_name(std::string_view name)
{
    if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0])))
        return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == ':';
    });
}

bool is_label_name(std::string_view name)
{
    return is_metric_name(name) && name.find(':') == std::string_view::npos &&
           !name.starts_with("__");
}

// Parses `{name="value",...}` at text[pos]; advances pos past the `}`. Label values may hold
// only the three escapes the format defines.
std::optional<std::map<std::string, std::string>> parse_labels(std::string_view text,
                                                               std::size_t& pos)
{
    std::map<std::string, std::string> labels;
    ++pos; // {
    while (true) {
        const std::size_t equals = text.find('=', pos);
        if (equals == std::string_view::npos)
            return std::nullopt;
        const std::string name(text.substr(pos, equals - pos));
        if (!is_label_name(name) || labels.contains(name) || equals + 1 >= text.size() ||
            text[equals + 1] != '"')
            return std::nullopt;
        std::string value;
        pos = equals + 2;
        for (;; ++pos) {
            if (pos >= text.size())
                return std::nullopt;
            const char c = text[pos];
            if (c == '"')
                break;
            if (c == '\n')
                return std::nullopt;
            if (c == '\\') {
                if (++pos >= text.size())
                    return std::nullopt;
                const char escaped = text[pos];
                if (escaped == 'n')
                    value += '\n';
                else if (escaped == '\\' || escaped == '"')
                    value += escaped;
                else
                    return std::nullopt;
            } else {
                value += c;
            }
        }
        labels.emplace(name, std::move(value));
        ++pos; // closing quote
        if (pos < text.size() && text[pos] == ',') {
            ++pos;
            continue;
        }
        if (pos < text.size() && text[pos] == '}') {
            ++pos;
            return labels;
        }
        return std::nullopt;
    }
}

std::string canonical(const std::string& name, const std::map<std::string, std::string>& labels)
{
    if (labels.empty())
        return name;
    std::string out = name;
    char separator = '{';
    for (const auto& [key, value] : labels) {
        out += separator;
        out += key + "=\"" + value + "\"";
        separator = ',';
    }
    return out + "}";
}

} // namespace

double Exposition::at(const std::string& series) const
{
    const auto found = samples.find(series);
    return found == samples.end() ? std::nan("") : found->second;
}

std::map<std::string, double> Exposition::family(const std::string& name) const
{
    std::map<std::string, double> out;
    for (const auto& [series, value] : samples)
        if (series == name || series.starts_with(name + "{"))
            out.emplace(series, value);
    return out;
}

Exposition parse_exposition(std::string_view body)
{
    Exposition out;
    auto problem = [&](std::string_view line, const std::string& what) {
        out.problems.push_back(what + ": `" + std::string(line) + "`");
    };
    if (body.empty() || body.back() != '\n')
        out.problems.push_back("the body does not end with a newline");

    std::set<std::string> helped;
    std::string current; // the family whose samples may follow
    std::set<std::string> finished;
    for (std::size_t start = 0; start < body.size();) {
        const std::size_t end = std::min(body.find('\n', start), body.size());
        const std::string_view line = body.substr(start, end - start);
        start = end + 1;
        if (line.empty()) {
            problem(line, "empty line");
            continue;
        }
        if (line[0] == '#') {
            const bool help = line.starts_with("# HELP ");
            const bool type = line.starts_with("# TYPE ");
            if (!help && !type) {
                problem(line, "unexpected comment");
                continue;
            }
            const std::string_view rest = line.substr(7);
            const std::size_t space = rest.find(' ');
            const std::string name(rest.substr(0, space));
            const std::string_view text =
                space == std::string_view::npos ? "" : rest.substr(space + 1);
            if (!is_metric_name(name) || text.empty()) {
                problem(line, "malformed HELP or TYPE");
                continue;
            }
            if (name != current) {
                if (!current.empty())
                    finished.insert(current);
                if (finished.contains(name))
                    problem(line, "family " + name + " appears twice");
                current = name;
            }
            if (help) {
                if (!helped.insert(name).second)
                    problem(line, "second HELP");
                if (out.types.contains(name))
                    problem(line, "HELP after TYPE");
            } else {
                if (out.types.contains(name))
                    problem(line, "second TYPE");
                if (text != "counter" && text != "gauge")
                    problem(line, "type is not counter or gauge");
                if ((text == "counter") != name.ends_with("_total"))
                    problem(line, "counters, and only counters, end in _total");
                out.types[name] = std::string(text);
            }
            continue;
        }

        std::size_t pos = 0;
        while (pos < line.size() && line[pos] != '{' && line[pos] != ' ')
            ++pos;
        const std::string name(line.substr(0, pos));
        if (!is_metric_name(name)) {
            problem(line, "bad metric name");
            continue;
        }
        if (name != current || !helped.contains(name) || !out.types.contains(name)) {
            problem(line, "sample not under its own family's HELP and TYPE");
            continue;
        }
        std::map<std::string, std::string> labels;
        if (pos < line.size() && line[pos] == '{') {
            auto parsed = parse_labels(line, pos);
            if (!parsed) {
                problem(line, "malformed labels");
                continue;
            }
            labels = std::move(*parsed);
        }
        if (pos >= line.size() || line[pos] != ' ') {
            problem(line, "no single space before the value");
            continue;
        }
        const std::string_view value_text = line.substr(pos + 1);
        double value = 0;
        const auto [parsed_end, error] =
            std::from_chars(value_text.data(), value_text.data() + value_text.size(), value);
        if (error != std::errc{} || parsed_end != value_text.data() + value_text.size() ||
            !std::isfinite(value)) {
            problem(line, "value is not a plain number (or a timestamp follows)");
            continue;
        }
        if (out.types[name] == "counter" && value < 0)
            problem(line, "negative counter");
        if (!out.samples.emplace(canonical(name, labels), value).second)
            problem(line, "duplicate series");
    }
    for (const auto& name : helped)
        if (!out.types.contains(name))
            out.problems.push_back("family " + name + " has HELP but no TYPE");
    return out;
}

} // namespace signald::test
