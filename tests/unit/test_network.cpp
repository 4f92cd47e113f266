// network.hpp: layer lists (--layers, --model lenet5) parsed, checked and built.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "chainrule/init.hpp"
#include "chainrule/network.hpp"
#include "chainrule/rng.hpp"

using namespace chainrule;

namespace {
std::string error_of(const std::string& list) {
  try {
    parse_layers(list);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("network: the LeNet-5 list parses into named layers with their shapes") {
  const auto e = parse_layers(kLeNet5Layers);
  REQUIRE(e.size() == 11);
  const char* names[] = {"conv1", "relu1", "maxpool1", "conv2", "relu2", "maxpool2",
                         "dense1", "relu3", "dense2", "relu4", "dense3"};
  for (std::size_t k = 0; k < e.size(); ++k) CHECK(e[k].name == names[k]);
  CHECK(e[0].out == ImageShape{6, 28, 28});   // pad 2 keeps 28x28
  CHECK(e[2].out == ImageShape{6, 14, 14});
  CHECK(e[3].out == ImageShape{16, 10, 10});  // 14 - 5 + 1
  CHECK(e[5].out == ImageShape{16, 5, 5});    // 400 inputs for dense1
  CHECK(e[6].in.size() == 400);
  CHECK(layers_text(e) == kLeNet5Layers);
  // The parameters: 25*6+6 + 150*16+16 + 400*120+120 + 120*84+84 + 84*10+10 = 61706
  const NetworkSize size = network_size(e);
  CHECK(size.params == 61706);
  const auto tensors = network_tensors(e);
  REQUIRE(tensors.size() == 10);
  CHECK(tensors[2].name == "conv2.W");
  CHECK(tensors[2].rows == 150);
  CHECK(tensors[2].cols == 16);
}

TEST_CASE("network: a list is written back in one canonical form") {
  CHECK(layers_text(parse_layers("conv:6:5:s1:pad2,maxpool:2:s2,dense:10")) == "conv:6:5:pad2,maxpool:2,dense:10");
  CHECK(layers_text(parse_layers("conv:3:3:pad1:s2,tanh,avgpool:3:s2,dense:10")) == "conv:3:3:s2:pad1,tanh,avgpool:3:s2,dense:10");
}

TEST_CASE("network: bad lists are refused with the entry and the fix") {
  CHECK(error_of("conv:6:5,pool:2,dense:10").find("layer 2 'pool:2': unknown kind") != std::string::npos);
  CHECK(error_of("conv:6:5,relu").find("must end with dense:10") != std::string::npos);
  CHECK(error_of("dense:20,conv:2:3,dense:10").find("cannot follow a dense layer") != std::string::npos);
  CHECK(error_of("conv:6:29,dense:10").find("does not fit") != std::string::npos);
  CHECK(error_of("conv:0:5,dense:10").find("write conv:OUT:K") != std::string::npos);
  CHECK(error_of("relu:2,dense:10").find("relu takes no parameters") != std::string::npos);
  CHECK(error_of("dense:10,").find("layer 2 '': unknown kind") != std::string::npos);
  CHECK(error_of("").find("empty") != std::string::npos);
  CHECK(error_of("maxpool:20,dense:10").find("at most 16") != std::string::npos);
}

TEST_CASE("network: make_model builds LeNet-5 through the parts; make_mlp refuses a layer list") {
  MlpSpec spec;
  spec.layers = kLeNet5Layers;
  auto model = make_model<float>(spec);
  CHECK(model.size() == 11);
  CHECK(model.parameter_count() == 61706);
  CHECK(std::string(model.layer(0).kind()) == "conv2d");
  CHECK(std::string(model.layer(2).kind()) == "maxpool2d");
  Tensor<float> X(3, 784);
  for (std::size_t k = 0; k < X.data.size(); ++k) X.data[k] = static_cast<float>(k % 7) / 7.0f;
  CHECK(model.forward(X, false).shape() == "(3, 10)");
  CHECK_THROWS_AS(make_mlp<float>(spec), std::invalid_argument);
  // The MLP is still make_mlp's: the same weights bit for bit.
  auto a = make_model<float>(MlpSpec{});
  auto b = make_mlp<float>(MlpSpec{});
  CHECK(a.params()[0].value->data == b.params()[0].value->data);
}

TEST_CASE("network: avgpool:28 then dense:10 by hand: the mean pixel times each weight, plus the bias") {
  MlpSpec spec;
  spec.layers = "avgpool:28,dense:10";
  auto model = make_model<double>(spec);
  auto& dense = model.get<Dense<double>>("dense1");
  CHECK(dense.W.shape() == "(1, 10)");
  for (int j = 0; j < 10; ++j) {
    dense.W(0, j) = j - 4.5;
    dense.b(0, j) = 0.25 * j;
  }
  Tensor<double> X(1, 784);
  for (int k = 0; k < 784; ++k) X.data[k] = k < 392 ? 1.0 : 0.0;  // the top half white: mean 0.5
  const Tensor<double>& Z = model.forward(X, false);
  for (int j = 0; j < 10; ++j) CHECK(Z(0, j) == doctest::Approx(0.5 * (j - 4.5) + 0.25 * j).epsilon(1e-12));
}

TEST_CASE("network: Conv2d outside training takes a large batch 128 images at a time, with the same outputs") {
  Conv2d<double> conv("conv", ImageShape{2, 9, 7}, 3, 3, 2, 1);
  Rng rng(7);
  he_normal(conv.W, conv.fan_in(), rng);
  for (auto& b : conv.b.data) b = rng.normal();
  Tensor<double> X(300, conv.in_shape().size());  // 128 + 128 + 44 images
  for (auto& x : X.data) x = rng.normal();
  Tensor<double> chunked, whole, reference;
  conv.forward(X, chunked, /*training=*/false);
  conv.forward(X, whole, /*training=*/true);
  conv.forward_reference(X, reference);
  CHECK(chunked.shape() == whole.shape());
  CHECK(chunked.data == whole.data);  // each image's products do not depend on its neighbours
  double worst = 0;
  for (std::size_t k = 0; k < whole.data.size(); ++k) worst = std::max(worst, std::abs(whole.data[k] - reference.data[k]));
  CHECK(worst < 1e-12);
  // Backward needs a training forward of the same batch: after an inference forward it says so.
  conv.forward(X, chunked, false);
  Tensor<double> dY(300, conv.out_shape().size()), dX;
  CHECK_THROWS_AS(conv.backward(dY, &dX), ShapeError);
}
