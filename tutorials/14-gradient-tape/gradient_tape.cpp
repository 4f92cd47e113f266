// Tutorial 14: a gradient tape from scratch.
// A small reverse-mode tape on matrices (the part between the two rulers below), then
// three checks of it: the 4-3-2 network of lesson 02 against the hand-written layers,
// 784-128-10 on a batch against the hand-written layers, and lesson 00's line fitted
// with Adam, with gradients from the tape instead of a formula.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "chainrule/gradcheck.hpp"
#include "chainrule/layers/dense.hpp"
#include "chainrule/layers/relu.hpp"
#include "chainrule/loss.hpp"
#include "chainrule/model.hpp"
#include "chainrule/rng.hpp"

namespace {

// ======================== the tape ==========================================
using Matrix = chainrule::Tensor<double>;  // rows x cols, row-major; m(i, j)

long long multiply_adds = 0;  // counted by matmul, forward and backward (section 3)

// One value computed during the forward pass, and what backward needs to know about it.
struct Node {
  Matrix value;                         // computed when the node is recorded
  Matrix grad;                          // dL/d(value), same shape; filled by Tape::backward
  std::vector<Node*> inputs;            // the nodes this value was computed from
  std::function<void(Node&)> backward;  // adds grad, through the op's derivative, to the inputs' grads
  bool needs_grad = false;              // a watched leaf, or computed from one
};

// Owns every node. The closures hold plain pointers to nodes of the same tape, so there
// are no reference cycles: destroying the tape frees everything.
class Tape {
 public:
  // A leaf: a parameter or an input. watch = false: its gradient is not wanted.
  Node* leaf(const Matrix& value, bool watch = true) {
    Node* n = record(value, {}, nullptr);
    n->needs_grad = watch;
    return n;
  }

  // An op's result, with its inputs and how to send its gradient back to them.
  Node* record(const Matrix& value, std::vector<Node*> inputs, std::function<void(Node&)> backward) {
    nodes_.push_back(std::make_unique<Node>());
    Node* n = nodes_.back().get();
    n->value = value;
    n->grad = Matrix(value.rows, value.cols);
    n->inputs = std::move(inputs);
    for (const Node* in : n->inputs) n->needs_grad = n->needs_grad || in->needs_grad;
    n->backward = std::move(backward);
    return n;
  }

  // Fills grad = dL/d(value) for every node the 1x1 node `loss` depends on.
  void backward(Node* loss) {
    std::vector<Node*> order;  // topological: every node after all of its inputs
    std::set<Node*> seen;
    visit(loss, seen, order);
    for (Node* n : order) n->grad.zero();
    loss->grad.fill(1.0);  // dL/dL = 1
    for (auto it = order.rbegin(); it != order.rend(); ++it)  // the reverse: every node before its inputs
      if ((*it)->backward && (*it)->needs_grad) (*it)->backward(**it);
  }

  std::size_t size() const { return nodes_.size(); }

 private:
  static void visit(Node* n, std::set<Node*>& seen, std::vector<Node*>& order) {
    if (!seen.insert(n).second) return;  // already placed (a node used twice)
    for (Node* in : n->inputs) visit(in, seen, order);
    order.push_back(n);
  }
  std::vector<std::unique_ptr<Node>> nodes_;
};

// ---- The ops. Each computes its value and records one closure. Every closure ADDS to
// ---- its inputs' grads (+=): a node used by two ops receives the sum of both.

// C = A B.   dA += dC B^T,   dB += A^T dC
Node* matmul(Tape& tape, Node* A, Node* B) {
  const int rows = A->value.rows, inner = A->value.cols, cols = B->value.cols;
  Matrix c(rows, cols);
  for (int i = 0; i < rows; ++i)
    for (int k = 0; k < inner; ++k)
      for (int j = 0; j < cols; ++j) c(i, j) += A->value(i, k) * B->value(k, j);
  multiply_adds += static_cast<long long>(rows) * inner * cols;
  return tape.record(c, {A, B}, [A, B](Node& C) {
    const Matrix &a = A->value, &b = B->value, &dc = C.grad;
    if (A->needs_grad) {
      for (int i = 0; i < a.rows; ++i)
        for (int k = 0; k < a.cols; ++k) {
          double sum = 0;
          for (int j = 0; j < b.cols; ++j) sum += dc(i, j) * b(k, j);
          A->grad(i, k) += sum;
        }
      multiply_adds += static_cast<long long>(a.rows) * a.cols * b.cols;
    }
    if (B->needs_grad) {
      for (int k = 0; k < a.cols; ++k)
        for (int i = 0; i < a.rows; ++i)
          for (int j = 0; j < b.cols; ++j) B->grad(k, j) += a(i, k) * dc(i, j);
      multiply_adds += static_cast<long long>(a.rows) * a.cols * b.cols;
    }
  });
}

// C = A + b, the row b (1 x cols) added to every row of A.   dA += dC,   db += sum of dC's rows
Node* add_bias(Tape& tape, Node* A, Node* b) {
  Matrix c = A->value;
  for (int i = 0; i < c.rows; ++i)
    for (int j = 0; j < c.cols; ++j) c(i, j) += b->value(0, j);
  return tape.record(c, {A, b}, [A, b](Node& C) {
    for (int i = 0; i < C.grad.rows; ++i)
      for (int j = 0; j < C.grad.cols; ++j) {
        A->grad(i, j) += C.grad(i, j);
        b->grad(0, j) += C.grad(i, j);
      }
  });
}

// C = max(0, A).   dA += dC * [A > 0]
Node* relu(Tape& tape, Node* A) {
  Matrix c = A->value;
  for (double& v : c.data) v = v > 0 ? v : 0;
  return tape.record(c, {A}, [A](Node& C) {
    for (std::size_t k = 0; k < C.grad.size(); ++k)
      if (A->value.data[k] > 0) A->grad.data[k] += C.grad.data[k];
  });
}

// L = -(1/N) sum_i log softmax(Z_i)[y_i], a 1x1 node.   dZ += dL (P - Y) / N
// The closure keeps its own copy of P and the labels: what this op saves for backward.
Node* softmax_cross_entropy(Tape& tape, Node* Z, const std::vector<int>& labels) {
  const Matrix& z = Z->value;
  Matrix P(z.rows, z.cols);
  double total = 0;
  for (int i = 0; i < z.rows; ++i) {
    double m = z(i, 0), sum = 0;
    for (int k = 1; k < z.cols; ++k) m = std::max(m, z(i, k));
    for (int k = 0; k < z.cols; ++k) sum += (P(i, k) = std::exp(z(i, k) - m));
    for (int k = 0; k < z.cols; ++k) P(i, k) /= sum;
    total += std::log(sum) - (z(i, labels[i]) - m);
  }
  const int N = z.rows;
  return tape.record(Matrix(1, 1, total / N), {Z}, [Z, P, labels, N](Node& L) {
    for (int i = 0; i < N; ++i)
      for (int k = 0; k < P.cols; ++k) Z->grad(i, k) += L.grad(0, 0) * (P(i, k) - (k == labels[i])) / N;
  });
}

// C = A - B.   dA += dC,   dB -= dC
Node* sub(Tape& tape, Node* A, Node* B) {
  Matrix c = A->value;
  for (std::size_t k = 0; k < c.size(); ++k) c.data[k] -= B->value.data[k];
  return tape.record(c, {A, B}, [A, B](Node& C) {
    for (std::size_t k = 0; k < C.grad.size(); ++k) {
      A->grad.data[k] += C.grad.data[k];
      B->grad.data[k] -= C.grad.data[k];
    }
  });
}

// C = A * A, entry by entry.   dA += 2 A dC
Node* square(Tape& tape, Node* A) {
  Matrix c = A->value;
  for (double& v : c.data) v *= v;
  return tape.record(c, {A}, [A](Node& C) {
    for (std::size_t k = 0; k < C.grad.size(); ++k) A->grad.data[k] += 2 * A->value.data[k] * C.grad.data[k];
  });
}

// The mean of every entry, a 1x1 node.   dA += dC / (number of entries)
Node* mean(Tape& tape, Node* A) {
  double total = 0;
  for (double v : A->value.data) total += v;
  const double n = static_cast<double>(A->value.size());
  return tape.record(Matrix(1, 1, total / n), {A}, [A, n](Node& C) {
    for (double& g : A->grad.data) g += C.grad(0, 0) / n;
  });
}
// ======================== end of the tape ===================================

// The network of lessons 02-07, written with the tape's ops.
Node* mlp_loss(Tape& tape, Node* X, Node* W1, Node* b1, Node* W2, Node* b2, const std::vector<int>& labels) {
  Node* Z1 = add_bias(tape, matmul(tape, X, W1), b1);
  Node* H = relu(tape, Z1);
  Node* Z2 = add_bias(tape, matmul(tape, H, W2), b2);
  return softmax_cross_entropy(tape, Z2, labels);
}

// The largest relative difference of lesson 08, |a - b| / max(1e-8, |a| + |b|), over all entries.
double max_rel_diff(const Matrix& a, const Matrix& b) {
  double worst = 0;
  for (std::size_t k = 0; k < a.size(); ++k)
    worst = std::max(worst, chainrule::relative_error(a.data[k], b.data[k], 1e-8));
  return worst;
}

const char* yes_no(bool ok) { return ok ? "yes" : "NO"; }

void set(Matrix& t, const std::vector<double>& values) {
  for (std::size_t k = 0; k < values.size(); ++k) t.data[k] = values[k];
}

// Two matrices side by side: the tape's and the layers'.
void print_pair(const char* name, const Matrix& tape, const Matrix& layers) {
  for (int i = 0; i < tape.rows; ++i) {
    std::printf(i == 0 ? "  %-4s [" : "       [", name);
    for (int j = 0; j < tape.cols; ++j) std::printf(j ? " %8.5f" : "%8.5f", tape(i, j));
    std::printf("]   [");
    for (int j = 0; j < layers.cols; ++j) std::printf(j ? " %8.5f" : "%8.5f", layers(i, j));
    std::printf("]\n");
  }
}

std::string with_commas(long long n) {  // 3252224 -> "3,252,224"
  const std::string digits = std::to_string(n);
  std::string out;
  for (std::size_t k = 0; k < digits.size(); ++k) {
    if (k > 0 && (digits.size() - k) % 3 == 0) out += ',';
    out += digits[k];
  }
  return out;
}

// The hand-written layers' gradients of a model on (X, labels), dX included.
struct LayerGrads {
  Matrix dW1, db1, dW2, db2, dX;
  double L = 0;
};
LayerGrads by_layers(chainrule::Sequential<double>& model, const Matrix& X, const std::vector<int>& labels) {
  chainrule::SoftmaxCrossEntropy<double> ce;
  LayerGrads g;
  g.L = ce.forward(model.forward(X, /*training=*/false), labels);
  Matrix dZ2;
  ce.backward(dZ2);
  model.zero_grad();
  model.backward(dZ2, /*need_input_grad=*/true);
  auto& d1 = model.get<chainrule::Dense<double>>("dense1");
  auto& d2 = model.get<chainrule::Dense<double>>("dense2");
  g.dW1 = d1.dW, g.db1 = d1.db, g.dW2 = d2.dW, g.db2 = d2.db, g.dX = model.input_grad();
  return g;
}

}  // namespace

int main() {
  using chainrule::Dense;

  // ---- 1. Lesson 02's 4-3-2 network ------------------------------------------------
  chainrule::Sequential<double> tiny;
  auto& d1 = tiny.add(std::make_unique<Dense<double>>("dense1", 4, 3));
  tiny.add(std::make_unique<chainrule::ReLU<double>>("relu1"));
  auto& d2 = tiny.add(std::make_unique<Dense<double>>("dense2", 3, 2));
  set(d1.W, {1, 0, -1, 0, 1, 1, 2, -1, 0, 1, 1, 1});
  set(d1.b, {0.5, -2, 0.5});
  set(d2.W, {2, -1, 1, 1, 0, 2});
  set(d2.b, {0, 1});
  Matrix X(2, 4);
  set(X, {1, 2, 0, -1, 0, 1, 1, 0});
  const std::vector<int> labels = {1, 0};

  std::printf("== 1. Lesson 02's 4-3-2 network: the tape (left) and the hand-written layers (right)\n");
  {
    Tape tape;
    Node *x = tape.leaf(X), *W1 = tape.leaf(d1.W), *b1 = tape.leaf(d1.b), *W2 = tape.leaf(d2.W), *b2 = tape.leaf(d2.b);
    Node* L = mlp_loss(tape, x, W1, b1, W2, b2, labels);
    tape.backward(L);
    const LayerGrads g = by_layers(tiny, X, labels);
    std::printf("  L: tape %.4f   layers %.4f;  the tape recorded %zu nodes\n", L->value(0, 0), g.L, tape.size());
    print_pair("dW1", W1->grad, g.dW1);
    print_pair("db1", b1->grad, g.db1);
    print_pair("dW2", W2->grad, g.dW2);
    print_pair("db2", b2->grad, g.db2);
    print_pair("dX", x->grad, g.dX);
    const double worst = std::max({max_rel_diff(W1->grad, g.dW1), max_rel_diff(b1->grad, g.db1),
                                   max_rel_diff(W2->grad, g.dW2), max_rel_diff(b2->grad, g.db2),
                                   max_rel_diff(x->grad, g.dX)});
    const std::size_t entries = g.dW1.size() + g.db1.size() + g.dW2.size() + g.db2.size() + g.dX.size();
    std::printf("  max relative difference over all %zu entries < 1e-12: %s\n", entries, yes_no(worst < 1e-12));
  }

  // ---- 2. 784-128-10 on a batch of 32 random images -----------------------------------
  std::printf("== 2. 784-128-10 (make_mlp seed 42), 32 random images (pixels and labels seed 3)\n");
  chainrule::Sequential<double> model = chainrule::make_mlp<double>(chainrule::MlpSpec{});
  chainrule::Rng rng(3);
  Matrix images(32, 784);
  for (double& p : images.data) p = rng.uniform();
  std::vector<int> digits(32);
  for (int& y : digits) y = static_cast<int>(rng.below(10));
  const LayerGrads g = by_layers(model, images, digits);
  auto& dense1 = model.get<Dense<double>>("dense1");
  auto& dense2 = model.get<Dense<double>>("dense2");
  long long forward_madds = 0, backward_madds = 0;
  {
    Tape tape;
    Node *x = tape.leaf(images), *W1 = tape.leaf(dense1.W), *b1 = tape.leaf(dense1.b);
    Node *W2 = tape.leaf(dense2.W), *b2 = tape.leaf(dense2.b);
    multiply_adds = 0;
    Node* L = mlp_loss(tape, x, W1, b1, W2, b2, digits);
    forward_madds = multiply_adds;
    multiply_adds = 0;
    tape.backward(L);
    backward_madds = multiply_adds;
    std::printf("  L: tape %.6f   layers %.6f\n", L->value(0, 0), g.L);
    std::printf("  gradient  shape        max relative difference < 1e-12\n");
    const struct {
      const char* name;
      const Matrix &tape, &layers;
    } rows[] = {{"dW1", W1->grad, g.dW1}, {"db1", b1->grad, g.db1}, {"dW2", W2->grad, g.dW2},
                {"db2", b2->grad, g.db2}, {"dX", x->grad, g.dX}};
    for (const auto& r : rows)
      std::printf("  %-8s  %-11s  %s\n", r.name, r.tape.shape().c_str(), yes_no(max_rel_diff(r.tape, r.layers) < 1e-12));
  }

  // ---- 3. What it cost -----------------------------------------------------------------
  long long backward_no_dx = 0;
  {
    Tape tape;  // the same, but the images are not watched: nobody wants dX
    Node* x = tape.leaf(images, /*watch=*/false);
    Node *W1 = tape.leaf(dense1.W), *b1 = tape.leaf(dense1.b), *W2 = tape.leaf(dense2.W), *b2 = tape.leaf(dense2.b);
    Node* L = mlp_loss(tape, x, W1, b1, W2, b2, digits);
    multiply_adds = 0;
    tape.backward(L);
    backward_no_dx = multiply_adds;
  }
  const long long params = static_cast<long long>(model.parameter_count());
  std::printf("== 3. The cost, in multiply-adds of the matrix products (batch of 32)\n");
  std::printf("  forward pass:                  %13s\n", with_commas(forward_madds).c_str());
  std::printf("  backward, all 4 + dX:          %13s  (%.2f forward passes)\n", with_commas(backward_madds).c_str(),
              static_cast<double>(backward_madds) / static_cast<double>(forward_madds));
  std::printf("  backward, all 4 (X unwatched): %13s  (%.2f forward passes)\n", with_commas(backward_no_dx).c_str(),
              static_cast<double>(backward_no_dx) / static_cast<double>(forward_madds));
  std::printf("  centered differences: 2 x %s parameters = %s forward passes = %.1e multiply-adds\n",
              with_commas(params).c_str(), with_commas(2 * params).c_str(),
              2.0 * static_cast<double>(params) * static_cast<double>(forward_madds));

  // ---- 4. Lesson 00's line, fitted with Adam; the gradients come from the tape --------
  std::printf("== 4. Lesson 00's line, Adam (lr 0.1, beta1 0.9, beta2 0.999, eps 1e-8), gradients by the tape\n");
  chainrule::Rng line_rng(7);
  Matrix xs(20, 1), ys(20, 1);
  for (int i = 0; i < 20; ++i) {
    xs(i, 0) = line_rng.uniform(-1.0, 1.0);
    ys(i, 0) = 2.0 * xs(i, 0) + 0.5 + 0.1 * line_rng.normal();
  }
  const double lr = 0.1, beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  double w = 0, b = 0, mw = 0, mb = 0, vw = 0, vb = 0;
  double worst = 0;  // the tape's gradients against lesson 00's formula, every step: max |difference|
  for (int t = 1; t <= 201; ++t) {
    Tape tape;  // a fresh tape every step, as with TensorFlow's `with tf.GradientTape() as tape:`
    Node* x = tape.leaf(xs, false);
    Node* y = tape.leaf(ys, false);
    Node* wn = tape.leaf(Matrix(1, 1, w));
    Node* bn = tape.leaf(Matrix(1, 1, b));
    Node* L = mean(tape, square(tape, sub(tape, add_bias(tape, matmul(tape, x, wn), bn), y)));  // mean (x w + b - y)^2
    tape.backward(L);
    const double dw = wn->grad(0, 0), db = bn->grad(0, 0);
    if ((t - 1) % 40 == 0) std::printf("  step %3d   w = %.4f   b = %.4f   L = %.6f\n", t - 1, w, b, L->value(0, 0));

    double fw = 0, fb = 0;  // lesson 00's gradient(): (2/N) sum r x, (2/N) sum r
    for (int i = 0; i < 20; ++i) {
      const double r = w * xs(i, 0) + b - ys(i, 0);
      fw += r * xs(i, 0);
      fb += r;
    }
    worst = std::max({worst, std::fabs(dw - fw * (2.0 / 20)), std::fabs(db - fb * (2.0 / 20))});

    mw = beta1 * mw + (1 - beta1) * dw;  // lesson 00's Adam, line for line
    mb = beta1 * mb + (1 - beta1) * db;
    vw = beta2 * vw + (1 - beta2) * dw * dw;
    vb = beta2 * vb + (1 - beta2) * db * db;
    const double c1 = 1 - std::pow(beta1, t), c2 = 1 - std::pow(beta2, t);
    w -= lr * (mw / c1) / (std::sqrt(vw / c2) + eps);
    b -= lr * (mb / c1) / (std::sqrt(vb / c2) + eps);
  }
  std::printf("  dL/dw, dL/db against lesson 00's formula, all 201 steps: max |difference| < 1e-14: %s\n",
              yes_no(worst < 1e-14));
  return 0;
}
