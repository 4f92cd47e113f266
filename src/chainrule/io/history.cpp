#include "chainrule/io/history.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <system_error>

namespace chainrule::io {

std::string history_csv(const std::vector<HistoryRow>& rows) {
  std::string text = "epoch,loss,accuracy,val_loss,val_accuracy,seconds,lr,stop\n";
  char line[192];
  for (const auto& r : rows) {
    std::snprintf(line, sizeof line, "%d,%.6f,%.6f,%.6f,%.6f,%.3f,%.9g,", r.epoch, r.loss, r.accuracy, r.val_loss,
                  r.val_accuracy, r.seconds, r.lr);
    text += line;
    text += r.stop;  // a word without commas (history.hpp), or nothing
    text += '\n';
  }
  return text;
}

}  // namespace chainrule::io
