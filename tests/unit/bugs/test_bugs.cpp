#include <doctest/doctest.h>

#include <set>
#include <stdexcept>

#include "chainrule/bugs/bugs.hpp"
#include "chainrule/bugs/layers.hpp"
#include "chainrule/bugs/losses.hpp"
#include "chainrule/bugs/pipeline.hpp"
#include "chainrule/data/dataset.hpp"
#include "chainrule/model.hpp"

using namespace chainrule;

TEST_CASE("bugs: every bug has a unique name that parses back to it") {
  std::set<std::string> names;
  for (const auto& b : all_bugs()) {
    CHECK(names.insert(b.name).second);
    CHECK(parse_bug(b.name) == b.bug);
    CHECK(std::string(bug_name(b.bug)) == b.name);
  }
  CHECK(names.size() == 14);
  CHECK(parse_bug("") == Bug::None);
}

TEST_CASE("bugs: an unknown name lists the valid ones") {
  CHECK_THROWS_WITH_AS(parse_bug("typo"), doctest::Contains("valid names: dense-no-bias-grad"), std::invalid_argument);
}

TEST_CASE("bugs: off by default; ScopedBug switches one on and restores") {
  CHECK(active_bug() == Bug::None);
  {
    ScopedBug b(Bug::LrTooHigh);
    CHECK(bug_active(Bug::LrTooHigh));
  }
  CHECK(active_bug() == Bug::None);
}

TEST_CASE("bugs: a gradient bug is a subclass built through the model's one seam, Parts") {
  CHECK(dynamic_cast<const bugs::DenseNoBiasGrad<double>*>(parts<double>().dense("d", 2, 2).get()) == nullptr);
  {
    ScopedBug b(Bug::DenseNoBiasGrad);
    CHECK(dynamic_cast<const bugs::DenseNoBiasGrad<double>*>(parts<double>().dense("d", 2, 2).get()) != nullptr);
    auto model = make_mlp<float>(MlpSpec{});
    CHECK(dynamic_cast<const bugs::DenseNoBiasGrad<float>*>(&model.layer(0)) != nullptr);
  }
  {
    ScopedBug b(Bug::ReluMaskInverted);
    CHECK(dynamic_cast<const bugs::ReluMaskInverted<float>*>(parts<float>().relu("r").get()) != nullptr);
  }
  {
    ScopedBug b(Bug::MissingBatchMean);
    CHECK(dynamic_cast<const bugs::MeanSquaredErrorMissingMean<double>*>(parts<double>().mean_squared_error().get()) != nullptr);
  }
  // Off again: the real parts.
  CHECK(dynamic_cast<const bugs::ReluMaskInverted<float>*>(parts<float>().relu("r").get()) == nullptr);
}

TEST_CASE("bugs: the pipeline bugs are read once, into the run's Pipeline") {
  const bugs::Pipeline clean = bugs::pipeline();
  CHECK(clean.zero_grads);
  CHECK(clean.lr_factor == 1);
  CHECK_FALSE(clean.dead_init);
  CHECK((clean.train_batch == &data::make_batch));
  CHECK((clean.eval_batch == &data::make_batch));
  {
    ScopedBug b(Bug::GradsNotZeroed);
    CHECK_FALSE(bugs::pipeline().zero_grads);
  }
  {
    ScopedBug b(Bug::LrTooHigh);
    CHECK(bugs::pipeline().lr_factor == 1000);
  }
  {
    ScopedBug b(Bug::DeadInit);
    CHECK(bugs::pipeline().dead_init);
    auto model = make_mlp<float>(MlpSpec{});
    bugs::kill_hidden_units(model);
    for (float v : dynamic_cast<Dense<float>&>(model.layer(0)).b.data) CHECK(v == -10.0f);  // dense1: dead
    for (float v : dynamic_cast<Dense<float>&>(model.layer(2)).b.data) CHECK(v == 0.0f);    // dense2: untouched
  }
  {
    ScopedBug b(Bug::LabelsMisaligned);
    const bugs::Pipeline p = bugs::pipeline();
    CHECK((p.train_batch != &data::make_batch));  // training batches get the next image's label
    CHECK((p.eval_batch == &data::make_batch));   // validation stays right
  }
  {
    ScopedBug b(Bug::InputsNotNormalised);
    CHECK((bugs::pipeline().eval_batch != &data::make_batch));
  }
}
