// FUZZ_CHECK: an invariant of the code under test. A violation prints what broke and aborts, which
// libFuzzer reports as a crash and saves the input (crash-<sha1>) for reproduction.
#pragma once

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(condition)                                                                          \
    do {                                                                                               \
        if (!(condition)) {                                                                            \
            std::fprintf(stderr, "%s:%d: invariant violated: %s\n", __FILE__, __LINE__, #condition);   \
            std::abort();                                                                              \
        }                                                                                              \
    } while (0)
