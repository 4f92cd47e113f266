// Inverted dropout.   X (N, H)   Y (N, H)
// rate is the probability of DROPPING a unit (as in Keras); keep = 1 - rate.
// Training:  M_ij = [u_ij < keep] / keep,  Y = X * M  (so E[Y] = X and inference needs no change)
// Inference: Y = X.
// Backward:  dX = dY * M  -- the same mask AND the same 1/keep scale.
// The mask comes from the layer's own seeded generator, so a run is reproducible.
// Derivation: tutorials/12-dropout-batchnorm.
#pragma once

#include "chainrule/layers/layer.hpp"
#include "chainrule/rng.hpp"

namespace chainrule {

template <typename T>
class Dropout : public Layer<T> {
 public:
  Dropout(std::string name, double rate, std::uint64_t seed);

  const char* kind() const override { return "dropout"; }
  double rate() const { return rate_; }

  void forward(const Tensor<T>& X, Tensor<T>& Y, bool training) override;
  void backward(const Tensor<T>& dY, Tensor<T>* dX) override;

  // For gradient checks: every later forward reuses the last mask, so that the
  // function being differentiated does not change between probes.
  void freeze_mask(bool frozen) { frozen_ = frozen; }
  Rng& rng() { return rng_; }  // its state goes into checkpoints

 protected:
  double rate_;
  Rng rng_;
  bool frozen_ = false;
  bool training_ = false;  // what the last forward did
  Tensor<T> mask_;         // (N, H) 0 or 1/keep
};

}  // namespace chainrule
