// The lessons that train on real MNIST load it through here. When data/mnist (or the folder
// given as the program's first argument) does not hold it, the lesson says how to fetch it
// and ends with exit code 77, which ctest reports as skipped, or 1 when
// CHAINRULE_REQUIRE_MNIST=1 (tools/test.sh sets it once it has fetched the data).
#pragma once

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

#include "chainrule/data/idx.hpp"

namespace lesson {

// MNIST from dir, or nothing after printing "<needs> real MNIST, which is not in <dir>" and
// how to fetch it. needs: "This lesson trains on", "Part 2 of this lesson trains on", ...
inline std::optional<chainrule::data::Mnist> load_mnist(const std::string& dir, const char* needs) {
  try {
    return chainrule::data::load_mnist(dir);
  } catch (const chainrule::data::DataError& e) {
    std::printf("%s real MNIST, which is not in %s:\n  %s\n"
                "Run tools/fetch_mnist.sh from the repository root, then run this program again.\n",
                needs, dir.c_str(), e.what());
    return std::nullopt;
  }
}

// The exit code of a lesson without its data: 77 (skipped), or 1 when CHAINRULE_REQUIRE_MNIST=1.
inline int missing_mnist_exit_code() {
  const char* require = std::getenv("CHAINRULE_REQUIRE_MNIST");
  return require != nullptr && std::string(require) == "1" ? 1 : 77;
}

}  // namespace lesson
