// chainrule doctor's diagnosis (train/doctor.hpp) of small run folders written by hand.
#include <doctest/doctest.h>

#include "../../support/test_dir.hpp"

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "chainrule/train/doctor.hpp"

using namespace chainrule::train;

namespace {
bool has(const std::vector<Finding>& f, const std::string& id) {
  for (const auto& x : f)
    if (x.id == id) return true;
  return false;
}
}  // namespace

TEST_CASE("monitor: diagnose_run reads a run folder; bad folders get a clear error") {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(CHAINRULE_TEST_TMP) / "monitor-run";
  fs::remove_all(dir);
  fs::create_directories(dir);
  {
    std::ofstream h(dir / "history.csv");
    h << "epoch,loss,accuracy,val_loss,val_accuracy,seconds\n1,2.30,0.11,2.30,0.11,1\n2,2.30,0.11,2.30,0.10,1\n";
  }
  std::string summary;
  const auto f = diagnose_run(dir.string(), &summary);
  CHECK(summary.find("2 epochs") != std::string::npos);
  CHECK(has(f, "loss-not-decreasing"));

  CHECK_THROWS_WITH_AS(diagnose_run((dir / "nope").string()), doctest::Contains("no such run folder"), std::invalid_argument);
  fs::remove(dir / "history.csv");
  CHECK_THROWS_WITH_AS(diagnose_run(dir.string()), doctest::Contains("--log-grads"), std::invalid_argument);
  {
    std::ofstream s(dir / "steps.csv");
    s << "step,epoch,loss\n1,1,abc\n";
  }
  CHECK_THROWS_WITH_AS(diagnose_run(dir.string()), doctest::Contains("steps.csv:2: 'abc' is not a number"), std::runtime_error);
}

namespace {
std::filesystem::path fresh_dir(const std::string& name) { return chainrule::testing::fresh_dir("doctor", name); }
using chainrule::testing::write_text;
}  // namespace

TEST_CASE("diagnose_run_folder: a header-only history.csv has no epoch to judge") {
  const auto dir = fresh_dir("header-only");
  write_text(dir / "history.csv", "epoch,loss,accuracy,val_loss,val_accuracy,seconds\n");
  const RunDiagnosis r = diagnose_run_folder(dir.string());
  CHECK(r.points == 0);
  CHECK(r.needed == 2);
  CHECK(r.unit == "epochs");
  write_text(dir / "history.csv", "epoch,loss,accuracy,val_loss,val_accuracy,seconds\n1,2.3,0.1,2.3,0.1,1\n");
  CHECK(diagnose_run_folder(dir.string()).points == 1);  // still below what the trend rules need
}
