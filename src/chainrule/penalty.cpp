#include "chainrule/penalty.hpp"

namespace chainrule {

bool weight_decay_applies(const std::string& name) {
  return name.size() >= 2 && name.compare(name.size() - 2, 2, ".W") == 0;
}

// R = lambda/2 sum_{W} sum_ij W_ij^2
template <typename T>
double L2Penalty<T>::forward(const std::vector<Param<T>>& params) const {
  double sum = 0;
  for (const auto& p : params) {
    if (!weight_decay_applies(p.name)) continue;
    for (T w : p.value->data) sum += static_cast<double>(w) * static_cast<double>(w);
  }
  return 0.5 * lambda_ * sum;
}

// dR/dW_ij = lambda W_ij, added to dL/dW
template <typename T>
void L2Penalty<T>::backward(const std::vector<Param<T>>& params) const {
  const T lambda = static_cast<T>(lambda_);
  for (const auto& p : params) {
    if (!weight_decay_applies(p.name)) continue;
    const T* w = p.value->data.data();
    T* g = p.grad->data.data();
    const std::size_t n = p.value->size();
    for (std::size_t j = 0; j < n; ++j) g[j] += lambda * w[j];
  }
}

template class L2Penalty<float>;
template class L2Penalty<double>;

}  // namespace chainrule
