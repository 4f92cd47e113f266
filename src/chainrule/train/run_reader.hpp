// Reading a run folder's files back, for chainrule doctor (doctor.hpp): history.csv and
// steps.csv as tables of numbers, config.txt as key -> value, diagnostics.txt as lines
// (docs/formats.md). Every reader refuses a FIFO or a device rather than hang on it.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace chainrule::train {

struct CsvTable {
  std::vector<std::string> columns;
  std::vector<std::vector<double>> rows;  // empty cells and "nan" read as NaN; a text column's cells too
  std::map<std::string, std::vector<std::string>> text;  // a text column's cells, one per row
  bool partial_last_line = false;         // a last line without its newline was ignored
  int column(const std::string& name) const;  // -1 when absent
};
// Throws std::runtime_error naming the file and line on unreadable or malformed input, or
// when path is not a regular file (a FIFO would block). Lines may end in "\n" or "\r\n";
// a last line without its newline is a row cut short (steps.csv grows by whole lines) and
// is ignored. Every cell must be a number, except in the columns named in text_columns
// (history.csv's "stop"), whose cells are kept as text.
CsvTable read_csv(const std::string& path, const std::vector<std::string>& text_columns = {});
// config.txt as key -> value (the first value of a repeated key); empty when the file is
// absent; throws std::runtime_error when it is there but not a regular file.
std::map<std::string, std::string> read_config(const std::string& path);
// The lines of an optional text file (config.txt, diagnostics.txt), without their "\r";
// none when it is absent; throws std::runtime_error when it is there but not a regular file.
std::vector<std::string> read_lines_if_present(const std::string& path);

}  // namespace chainrule::train
