#include "violations.hpp"

#include <cstdarg>
#include <cstdio>

namespace bench {

void Violations::add(const char* format, ...)
{
    ++count_;
    if (count_ > max_printed)
        return;
    std::fputs("violation: ", stderr);
    va_list args;
    va_start(args, format);
    std::vfprintf(stderr, format, args);
    va_end(args);
    std::fputc('\n', stderr);
    if (count_ == max_printed)
        std::fputs("violation: (further violations are counted, not printed)\n", stderr);
}

} // namespace bench
