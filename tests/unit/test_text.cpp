// text.hpp: the readers behind --layers, --lr-schedule and the settings files.
#include "chainrule/text.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace chainrule;

TEST_CASE("text: split keeps every part, an empty last one included") {
  CHECK(split("conv:6:5", ':') == std::vector<std::string>{"conv", "6", "5"});
  CHECK(split("step:7:", ':') == std::vector<std::string>{"step", "7", ""});
  CHECK(split("a,,b", ',') == std::vector<std::string>{"a", "", "b"});
  CHECK(split("", ',').empty());
}

TEST_CASE("text: read_int takes digits only, within its range") {
  int v = -1;
  CHECK(read_int("12", 1, 64, v));
  CHECK(v == 12);
  CHECK(read_int("0", 0, 64, v));
  CHECK(v == 0);
  for (const char* bad : {"", "-3", "+3", " 3", "3 ", "3x", "0x10", "65", "99999999999"}) {
    INFO(bad);
    CHECK_FALSE(read_int(bad, 0, 64, v));
  }
}

TEST_CASE("text: read_double reads the whole text or nothing") {
  double v = 0;
  CHECK(read_double("0.5", v));
  CHECK(v == 0.5);
  CHECK(read_double("1e-3", v));
  CHECK(v == 1e-3);
  for (const char* bad : {"", "0.5x", "abc", "1e999", "0.5 "}) {
    INFO(bad);
    CHECK_FALSE(read_double(bad, v));
  }
}
