// The geometry of an image batch. A batch of images stays an (N, C*H*W) row-major Tensor:
// row n is image n, channel-major within the row, so pixel (c, y, x) of image n is
//     X(n, (c * H + y) * W + x).
// The layers that see images (Conv2d, MaxPool2d, AvgPool2d) hold their input's ImageShape
// and compute their output's; the tensor itself stays the plain matrix of the MLP
// (docs/architecture.md, "Images").
#pragma once

#include <stdexcept>
#include <string>

namespace chainrule {

struct ImageShape {
  int channels = 0;  // C
  int height = 0;    // H
  int width = 0;     // W

  int size() const { return channels * height * width; }  // the columns of a batch, C*H*W
  int pixels() const { return height * width; }           // H*W, one channel's share of a row
  int index(int c, int y, int x) const { return (c * height + y) * width + x; }
  bool operator==(const ImageShape&) const = default;
  std::string str() const {  // "(C, H, W)"
    std::string s = "(";
    s.append(std::to_string(channels)).append(", ").append(std::to_string(height)).append(", ");
    s.append(std::to_string(width)).append(")");
    return s;
  }
};

// How many positions a window of size k takes along an axis of length n padded by p on
// each side, moving by s: floor((n + 2p - k) / s) + 1. Positions a window cannot reach
// (when s does not divide n + 2p - k) are left out, as in every framework.
// Throws std::invalid_argument when the window does not fit even once.
inline int window_positions(const std::string& who, int n, int k, int s, int p) {
  if (k < 1 || s < 1 || p < 0 || n < 1)
    throw std::invalid_argument(who + ": needs kernel >= 1, stride >= 1, padding >= 0 and a non-empty image");
  if (n + 2 * p < k)
    throw std::invalid_argument(who + ": a kernel of " + std::to_string(k) + " does not fit an axis of " +
                                std::to_string(n) + " padded by " + std::to_string(p));
  return (n + 2 * p - k) / s + 1;
}

}  // namespace chainrule
