// Tests for src/chainrule/train/run_folder: one run per folder (a lock naming its holder),
// no mixing of two runs' files (refusal, or --overwrite), stale temporary files removed.
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "chainrule/data/dataset.hpp"
#include "chainrule/rng.hpp"
#include "chainrule/train/run_folder.hpp"
#include "chainrule/train/trainer.hpp"

#include "../../support/small_runs.hpp"

namespace fs = std::filesystem;
using namespace chainrule;

namespace {

fs::path fresh(const std::string& name) {
  const fs::path dir = fs::path(CHAINRULE_TEST_TMP) / "run-folder" / name;
  fs::remove_all(dir);
  fs::create_directories(dir.parent_path());
  return dir;
}

void touch(const fs::path& path, const std::string& text = "x\n") {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

// 4x4 images of two classes (bright left or right half): enough for a few quick epochs.
data::ImageSet patterns(int count, std::uint64_t seed) {
  data::ImageSet set;
  set.count = count;
  set.rows = set.cols = 4;
  set.images_path = "synthetic-images";
  Rng rng(seed);
  for (int i = 0; i < count; ++i) {
    const int label = static_cast<int>(rng.below(2));
    set.labels.push_back(static_cast<std::uint8_t>(label));
    for (int p = 0; p < 16; ++p) set.pixels.push_back(static_cast<std::uint8_t>(((p % 4 < 2) == (label == 0)) ? 200 : 20));
  }
  return set;
}

struct Tiny {
  data::ImageSet train = patterns(64, 1), val = patterns(16, 2);
  train::TrainData data() const { return testing::train_data(train, val); }
  train::TrainConfig config(const fs::path& dir) const {
    train::TrainConfig c;
    c.data_dir = "no-data-needed";
    c.spec.inputs = 16;
    c.spec.hidden = {4};
    c.spec.classes = 2;
    c.batch = 16;
    c.epochs = 1;
    c.threads = 1;
    c.run_dir = dir.string();
    return c;
  }
};

}  // namespace

TEST_CASE("run folder: a second run on a locked folder is refused at once, naming the PID that holds it") {
  const fs::path dir = fresh("locked");
  train::RunFolder first(dir.string());
  CHECK(first.held());
  CHECK(fs::is_regular_file(dir / "run.lock"));
  // flock locks belong to an open file, so a second open in this process conflicts as another process would.
  const std::string pid = "is in use by another run (PID " + std::to_string(::getpid()) + ",";
  CHECK_THROWS_WITH_AS(train::RunFolder(dir.string()), doctest::Contains(pid.c_str()),
                       train::RunFolderError);
  Tiny t;
  std::ostringstream log;
  CHECK_THROWS_WITH_AS(train::fit(t.config(dir), t.data(), log), doctest::Contains("is in use by another run"),
                       train::RunFolderError);
  CHECK_FALSE(fs::exists(dir / "config.txt"));  // the second run wrote nothing
}

TEST_CASE("run folder: the lock goes with its holder; a folder made for a refused run is removed") {
  const fs::path dir = fresh("released");
  {
    train::RunFolder held(dir.string());
    CHECK(fs::is_directory(dir));
  }
  CHECK_FALSE(fs::exists(dir));  // created by the RunFolder, nothing written: gone again
  fs::create_directories(dir);
  { train::RunFolder held(dir.string()); }
  CHECK(fs::is_directory(dir));  // the user's own folder stays
  CHECK_FALSE(fs::exists(dir / "run.lock"));
  train::RunFolder again(dir.string());  // free again
  CHECK(again.held());
}

TEST_CASE("run folder: a path that cannot be a run folder is refused with the reason") {
  const fs::path file = fresh("a-file");
  touch(file);
  CHECK_THROWS_WITH_AS(train::RunFolder(file.string()), doctest::Contains("exists and is not a folder"),
                       train::RunFolderError);
  CHECK_THROWS_WITH_AS(train::RunFolder((file / "below").string()), doctest::Contains("cannot create it"),
                       train::RunFolderError);
  CHECK_THROWS_WITH_AS(train::RunFolder("/proc/chainrule-no-such/run"), doctest::Contains("cannot create it"),
                       train::RunFolderError);
}

TEST_CASE("run folder: a folder holding a run is refused without --resume; --overwrite clears it first") {
  Tiny t;
  const fs::path dir = fresh("reuse");
  std::ostringstream log;
  train::TrainConfig c = t.config(dir);
  c.optimizer.lr = 0.5;  // the first run
  c.log_grads = 2;
  train::fit(c, t.data(), log);
  touch(dir / "diagnostics.txt", "effective_lr 0.5\n");
  REQUIRE(fs::exists(dir / "steps.csv"));

  c.optimizer.lr = 0.001;  // a second run into the same folder
  c.log_grads = 0;
  CHECK_THROWS_WITH_AS(train::fit(c, t.data(), log), doctest::Contains("already holds a run (config.txt"),
                       train::RunFolderError);
  const std::string hint = "--resume " + (dir / "last.ckpt").string();
  CHECK_THROWS_WITH_AS(train::fit(c, t.data(), log), doctest::Contains(hint.c_str()),
                       train::RunFolderError);

  c.overwrite = true;
  std::ostringstream log2;
  train::fit(c, t.data(), log2);
  CHECK(log2.str().find("--overwrite: removed the earlier run's config.txt, history.csv, steps.csv, diagnostics.txt, "
                        "last.ckpt") != std::string::npos);
  CHECK_FALSE(fs::exists(dir / "steps.csv"));  // not left beside the new run
  CHECK_FALSE(fs::exists(dir / "diagnostics.txt"));
  std::ifstream config(dir / "config.txt");
  std::stringstream text;
  text << config.rdbuf();
  CHECK(text.str().find("lr = 0.001\n") != std::string::npos);

  // Resuming from the folder's own checkpoint is the one way to write into it again...
  train::TrainConfig r = t.config(dir);
  r.epochs = 2;
  r.resume = (dir / "last.ckpt").string();
  train::fit(r, t.data(), log);
  // ...and --overwrite would delete what it resumes.
  r.epochs = 3;
  r.overwrite = true;
  CHECK_THROWS_WITH_AS(train::fit(r, t.data(), log), doctest::Contains("--overwrite would delete the run"),
                       train::RunFolderError);
}

TEST_CASE("run folder: a stale last.ckpt.tmp (a run killed while writing) is removed, with one line") {
  Tiny t;
  const fs::path dir = fresh("stale");
  fs::create_directories(dir);
  touch(dir / "last.ckpt.tmp", "half a checkpoint");
  std::ostringstream log;
  train::fit(t.config(dir), t.data(), log);
  CHECK_FALSE(fs::exists(dir / "last.ckpt.tmp"));
  CHECK(log.str().rfind("note: removed last.ckpt.tmp from " + dir.string() + "/", 0) == 0);
}
