// Classic mistakes in the training pipeline rather than in a backward pass: read once,
// where a training run is set up (train/trainer.cpp), and nowhere inside the step.
// The gradient checker cannot see these; the training diagnostics and `chainrule doctor`
// do (docs/bugs.md, tutorials/11-debugging).
#pragma once

#include <cstddef>
#include <vector>

#include "chainrule/data/idx.hpp"
#include "chainrule/model.hpp"
#include "chainrule/tensor.hpp"

namespace chainrule::bugs {

// How a batch is built: data::make_batch's signature (data/dataset.hpp).
using MakeBatch = void (*)(const data::ImageSet& set, const std::vector<int>& indices, std::size_t begin,
                           std::size_t end, Tensor<float>& X, std::vector<int>& labels);

struct Pipeline {
  MakeBatch train_batch;    // data::make_batch, or a copy with the mistake
  MakeBatch eval_batch;     // the same for validation and evaluation batches
  bool zero_grads = true;   // grads-not-zeroed: false, so gradients pile up step after step
  double lr_factor = 1;     // lr-too-high: 1000
  bool dead_init = false;   // dead-init: see kill_hidden_units
};

// The pipeline of the active bug (bugs.hpp); every field as above when no pipeline bug is on.
Pipeline pipeline();

// dead-init: every hidden dense layer's biases start at -10, so every ReLU starts dead.
void kill_hidden_units(Sequential<float>& model);

}  // namespace chainrule::bugs
