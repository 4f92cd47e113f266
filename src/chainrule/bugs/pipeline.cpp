#include "chainrule/bugs/pipeline.hpp"

#include <algorithm>

#include "chainrule/bugs/bugs.hpp"
#include "chainrule/data/dataset.hpp"
#include "chainrule/layers/dense.hpp"

namespace chainrule::bugs {

namespace {

// inputs-not-normalised: the pixels as 0..255 instead of 0..1.
void make_batch_raw_pixels(const data::ImageSet& set, const std::vector<int>& indices, std::size_t begin,
                           std::size_t end, Tensor<float>& X, std::vector<int>& labels) {
  data::make_batch(set, indices, begin, end, X, labels);
  const std::size_t D = static_cast<std::size_t>(X.cols);
  for (int i = 0; i < X.rows; ++i) {
    const std::uint8_t* pixels = set.pixels.data() + static_cast<std::size_t>(indices[begin + i]) * D;
    for (std::size_t j = 0; j < D; ++j) X.row(i)[j] = pixels[j];  // BUG: should be pixels[j] / 255
  }
}

// labels-misaligned: each image paired with the next image's label.
void make_batch_misaligned(const data::ImageSet& set, const std::vector<int>& indices, std::size_t begin,
                           std::size_t end, Tensor<float>& X, std::vector<int>& labels) {
  data::make_batch(set, indices, begin, end, X, labels);
  if (!labels.empty()) std::rotate(labels.begin(), labels.begin() + 1, labels.end());  // BUG: one label off
}

}  // namespace

Pipeline pipeline() {
  Pipeline p{data::make_batch, data::make_batch};
  if (bug_active(Bug::InputsNotNormalised)) p.train_batch = p.eval_batch = make_batch_raw_pixels;
  if (bug_active(Bug::LabelsMisaligned)) p.train_batch = make_batch_misaligned;
  p.zero_grads = !bug_active(Bug::GradsNotZeroed);
  p.lr_factor = bug_active(Bug::LrTooHigh) ? 1000 : 1;
  p.dead_init = bug_active(Bug::DeadInit);
  return p;
}

void kill_hidden_units(Sequential<float>& model) {
  std::size_t last_dense = 0;
  for (std::size_t i = 0; i < model.size(); ++i)
    if (dynamic_cast<Dense<float>*>(&model.layer(i))) last_dense = i;
  for (std::size_t i = 0; i < last_dense; ++i)
    if (auto* dense = dynamic_cast<Dense<float>*>(&model.layer(i))) dense->b.fill(-10.0f);  // BUG: should start at 0
}

}  // namespace chainrule::bugs
