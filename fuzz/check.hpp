#pragma once
// FUZZ_CHECK: the fuzz targets' assertion. It stays on in release builds (unlike assert) and
// aborts, so libFuzzer stops and saves the input that broke the property.

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(condition)                                                                      \
    do {                                                                                           \
        if (!(condition)) {                                                                        \
            std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #condition);     \
            std::abort();                                                                          \
        }                                                                                          \
    } while (false)
