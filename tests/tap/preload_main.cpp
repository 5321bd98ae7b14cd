// The doctest runner of the preload tests (run with libspicecap-tap.so in LD_PRELOAD).
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
