#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "chainrule/train/monitor.hpp"

using namespace chainrule::train;

namespace {
bool has(const std::vector<Finding>& f, const std::string& id) {
  for (const auto& x : f)
    if (x.id == id) return true;
  return false;
}

// A run of `steps` steps whose loss follows loss(step) and whose probes (every 5 steps)
// follow probe(step).
template <typename Loss, typename ProbeFn>
std::vector<Finding> simulate(int steps, Loss loss, ProbeFn probe) {
  Monitor m(MonitorSettings{});
  for (int s = 1; s <= steps; ++s) {
    m.on_step(s, loss(s));
    if (s == 1 || s % 5 == 0) m.on_probe(probe(s));
  }
  return m.findings();
}

Probe healthy_probe(int s) {
  Probe p;
  p.step = s;
  p.grad_norm = 2.0 / (1 + 0.01 * s);
  p.weight_update_ratio = 0.003;
  p.dead_fractions = {0.05};
  p.softmax_saturation = 0.2;
  return p;
}
}  // namespace

TEST_CASE("monitor: a healthy run raises nothing") {
  const auto f = simulate(400, [](int s) { return 2.3 * std::exp(-s / 100.0) + 0.1; }, healthy_probe);
  CHECK(f.empty());
}

TEST_CASE("monitor: a first loss far above ln(C) is flagged (unnormalised inputs)") {
  const auto f = simulate(50, [](int s) { return s == 1 ? 80.0 : 2.0; }, healthy_probe);
  CHECK(has(f, "initial-loss-high"));
  CHECK(f.front().id == "initial-loss-high");
}

TEST_CASE("monitor: dead ReLUs and a flat loss (dead initialisation)") {
  const auto f = simulate(300, [](int) { return 2.3026; }, [](int s) {
    Probe p = healthy_probe(s);
    p.dead_fractions = {1.0};
    p.grad_norm = 0.01;
    return p;
  });
  CHECK(has(f, "dead-relus"));
  CHECK(has(f, "loss-not-decreasing"));
  CHECK_FALSE(has(f, "chance-level"));  // the units are dead: that, not the labels, is the cause
  CHECK(f.front().id == "dead-relus");
}

TEST_CASE("monitor: a loss stuck at ln(10) with live units points at the labels") {
  const auto f = simulate(300, [](int s) { return 2.31 + 0.01 * std::sin(s); }, healthy_probe);
  CHECK(has(f, "chance-level"));
  CHECK(has(f, "loss-not-decreasing"));
}

TEST_CASE("monitor: growing gradient norms (gradients never zeroed)") {
  const auto f = simulate(300, [](int s) { return 1.0 + 0.002 * s; }, [](int s) {
    Probe p = healthy_probe(s);
    p.grad_norm = 1.0 + s;  // grows with every step, as a running sum does
    return p;
  });
  CHECK(has(f, "gradients-growing"));
  CHECK(f.front().id == "gradients-growing");
}

TEST_CASE("monitor: large updates twice running (learning rate too high); one large step is not enough") {
  auto big = [](int s) {
    Probe p = healthy_probe(s);
    p.weight_update_ratio = 0.2;
    return p;
  };
  CHECK(has(simulate(30, [](int) { return 2.0; }, big), "updates-too-large"));
  const auto once = simulate(30, [](int) { return 2.0; }, [](int s) {
    Probe p = healthy_probe(s);
    if (s == 10) p.weight_update_ratio = 0.2;
    return p;
  });
  CHECK_FALSE(has(once, "updates-too-large"));
}

TEST_CASE("monitor: a rising or non-finite loss is diverging") {
  CHECK(has(simulate(100, [](int s) { return 2.0 + 0.1 * s; }, healthy_probe), "loss-diverging"));
  Monitor m(MonitorSettings{});
  m.on_step(1, 2.3);
  m.on_step(2, std::nan(""));
  CHECK(has(m.findings(), "loss-diverging"));
}

TEST_CASE("monitor: Adam's first step larger than lr means no bias correction") {
  Monitor m(MonitorSettings{});
  m.on_adam_first_step(1.0);
  CHECK(m.findings().empty());
  m.on_adam_first_step(3.16);
  CHECK(has(m.findings(), "adam-first-step"));
  CHECK(m.take_new_findings().size() == 1);
  CHECK(m.take_new_findings().empty());  // each finding is reported once
}

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
std::filesystem::path fresh_dir(const std::string& name) {
  const auto dir = std::filesystem::path(CHAINRULE_TEST_TMP) / "monitor" / name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}
void write_text(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}
}  // namespace

TEST_CASE("read_csv: CRLF line ends read like LF ones") {
  const auto dir = fresh_dir("crlf");
  write_text(dir / "history.csv",
             "epoch,loss,accuracy,val_loss,val_accuracy,seconds\r\n1,2.3,0.1,2.3,0.1,1\r\n2,1.2,0.6,1.1,0.6,1\r\n");
  const CsvTable t = read_csv((dir / "history.csv").string());
  CHECK(t.columns.back() == "seconds");  // not "seconds\r"
  REQUIRE(t.rows.size() == 2);
  CHECK(t.rows[1][0] == 2);
  CHECK(t.rows[1][5] == 1);
  std::string summary;
  diagnose_run(dir.string(), &summary);  // threw "'1\r' is not a number" before
  CHECK(summary == "2 epochs from history.csv");
}

TEST_CASE("read_csv: a last line without its newline (cut short by a full disk) is ignored") {
  const auto dir = fresh_dir("partial");
  write_text(dir / "steps.csv", "step,epoch,loss,x:grad_norm\n1,1,2.3,0.5\n5,1,2.2,0.4\n10,1,2.");
  const CsvTable t = read_csv((dir / "steps.csv").string());
  CHECK(t.rows.size() == 2);
  CHECK(t.partial_last_line);
  const RunDiagnosis r = diagnose_run_folder(dir.string());  // refused the folder before ("3 values for 4 columns")
  CHECK(r.summary == "2 logged steps from steps.csv (its cut-short last line ignored)");
  write_text(dir / "steps.csv", "step,epoch,loss,x:grad_norm\n1,1,2.3,0.5\n");
  CHECK_FALSE(read_csv((dir / "steps.csv").string()).partial_last_line);
}

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
