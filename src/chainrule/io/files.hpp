// Writing files so that a reader, or a crash, never sees half of one: write "<path>.tmp",
// flush, then rename it over <path> (a rename within a folder is atomic). Every file
// chainrule writes (run folders, checkpoints' CSV companions, .npy, plot data) goes through here.
#pragma once

#include <functional>
#include <ostream>
#include <string>

namespace chainrule::io {

// Throws std::runtime_error naming the path (and removes the temporary file) on failure.
void write_file_atomically(const std::string& path, const std::string& bytes);
void write_file_atomically(const std::string& path, const std::function<void(std::ostream&)>& body);

}  // namespace chainrule::io
