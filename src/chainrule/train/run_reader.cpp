#include "chainrule/train/run_reader.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <stdexcept>

#include "chainrule/io/files.hpp"

namespace chainrule::train {

int CsvTable::column(const std::string& name) const {
  for (std::size_t i = 0; i < columns.size(); ++i)
    if (columns[i] == name) return static_cast<int>(i);
  return -1;
}

CsvTable read_csv(const std::string& path, const std::vector<std::string>& text_columns) {
  io::require_regular_file(path);  // a FIFO would block the read below
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot open the file");
  CsvTable t;
  std::string line;
  auto next_line = [&](bool& whole) {  // one line without its "\n" or "\r\n"; whole: it ended with "\n"
    if (!std::getline(in, line)) return false;
    whole = !in.eof();
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return true;
  };
  bool whole = false;
  if (!next_line(whole) || line.empty()) throw std::runtime_error(path + ": the file is empty (no header line)");
  std::stringstream header(line);
  for (std::string cell; std::getline(header, cell, ',');) t.columns.push_back(cell);
  std::vector<bool> is_text(t.columns.size(), false);
  for (std::size_t j = 0; j < t.columns.size(); ++j)
    for (const auto& name : text_columns)
      if (t.columns[j] == name) {
        is_text[j] = true;
        t.text[name];
      }
  std::size_t lineno = 1;
  while (next_line(whole)) {
    ++lineno;
    if (!whole) {  // a last line without its newline was cut short (a full disk, a killed writer): not a row
      t.partial_last_line = !line.empty();
      break;
    }
    if (line.empty()) continue;
    std::vector<double> row;
    std::stringstream cells(line);
    std::vector<std::string> texts;
    for (std::string cell; std::getline(cells, cell, ',');) {
      if (row.size() < is_text.size() && is_text[row.size()]) {
        texts.push_back(cell);
        row.push_back(std::numeric_limits<double>::quiet_NaN());
        continue;
      }
      if (cell.empty() || cell == "nan" || cell == "-nan") {
        row.push_back(std::numeric_limits<double>::quiet_NaN());
        continue;
      }
      char* end = nullptr;
      const double v = std::strtod(cell.c_str(), &end);
      if (end == cell.c_str() || *end != '\0')
        throw std::runtime_error(path + ":" + std::to_string(lineno) + ": '" + cell + "' is not a number");
      row.push_back(v);
    }
    if (!line.empty() && line.back() == ',') {
      if (row.size() < is_text.size() && is_text[row.size()]) texts.emplace_back();
      row.push_back(std::numeric_limits<double>::quiet_NaN());
    }
    if (row.size() != t.columns.size())
      throw std::runtime_error(path + ":" + std::to_string(lineno) + ": " + std::to_string(row.size()) +
                               " values for " + std::to_string(t.columns.size()) + " columns");
    std::size_t k = 0;
    for (std::size_t j = 0; j < is_text.size(); ++j)
      if (is_text[j]) t.text[t.columns[j]].push_back(texts[k++]);
    t.rows.push_back(std::move(row));
  }
  return t;
}

std::vector<std::string> read_lines_if_present(const std::string& path) {
  std::vector<std::string> lines;
  std::error_code ec;
  if (!std::filesystem::exists(std::filesystem::symlink_status(path, ec))) return lines;
  io::require_regular_file(path);  // present but a FIFO, a folder, a device: say so rather than hang
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot open the file");
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(line);
  }
  return lines;
}

std::map<std::string, std::string> read_config(const std::string& path) {
  std::map<std::string, std::string> cfg;
  for (const std::string& line : read_lines_if_present(path)) {
    const auto eq = line.find(" = ");
    if (eq == std::string::npos) continue;
    cfg.emplace(line.substr(0, eq), line.substr(eq + 3));
  }
  return cfg;
}

}  // namespace chainrule::train
