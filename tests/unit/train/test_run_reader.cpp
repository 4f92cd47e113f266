// Reading a run folder back (train/run_reader.hpp): CRLF line ends and cut-short last lines.
#include <doctest/doctest.h>

#include "../../support/test_dir.hpp"

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "chainrule/train/doctor.hpp"
#include "chainrule/train/run_reader.hpp"

using namespace chainrule::train;

namespace {
std::filesystem::path fresh_dir(const std::string& name) { return chainrule::testing::fresh_dir("run_reader", name); }
using chainrule::testing::write_text;
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

