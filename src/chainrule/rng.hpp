// A small seeded random generator (xoshiro256**, seeded through splitmix64).
// chainrule writes its own so that every platform draws the same numbers from
// the same seed, and so that its whole state (four integers) fits in a checkpoint.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>

namespace chainrule {

class Rng {
 public:
  explicit Rng(std::uint64_t seed = 42) { reseed(seed); }

  void reseed(std::uint64_t seed) {
    std::uint64_t x = seed;
    for (auto& s : state_) {  // splitmix64: spreads one seed over the four words
      x += 0x9E3779B97F4A7C15ULL;
      std::uint64_t z = x;
      z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
      z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
      s = z ^ (z >> 31);
    }
    has_spare_ = false;
  }

  std::uint64_t next_u64() {
    const std::uint64_t result = rotl(state_[1] * 5, 7) * 9;
    const std::uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = rotl(state_[3], 45);
    return result;
  }

  // Uniform in [0, 1), 53 random bits.
  double uniform() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }

  // Uniform integer in [0, n), without modulo bias (Lemire's method needs 128-bit; rejection is plainer).
  std::uint64_t below(std::uint64_t n) {
    const std::uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    std::uint64_t x;
    do x = next_u64(); while (x >= limit);
    return x % n;
  }

  // Standard normal, Box-Muller (the second value is kept for the next call).
  double normal() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    double u1 = uniform(), u2 = uniform();
    if (u1 < 1e-300) u1 = 1e-300;
    const double r = std::sqrt(-2.0 * std::log(u1));
    const double theta = 6.283185307179586 * u2;
    spare_ = r * std::sin(theta);
    has_spare_ = true;
    return r * std::cos(theta);
  }

  // The whole state, for checkpoints (exact resume).
  struct State {
    std::array<std::uint64_t, 4> words;
    bool has_spare;
    double spare;
  };
  State state() const { return {state_, has_spare_, spare_}; }
  void set_state(const State& s) {
    state_ = s.words;
    has_spare_ = s.has_spare;
    spare_ = s.spare;
  }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::array<std::uint64_t, 4> state_{};
  bool has_spare_ = false;
  double spare_ = 0;
};

}  // namespace chainrule
