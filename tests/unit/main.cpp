// The doctest entry point for chainrule_tests (one test file per source file lives beside it).
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
