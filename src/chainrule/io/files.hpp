// Reading and writing files safely.
//
// Writing: a reader, or a crash, never sees half of a file. write "<path>.tmp", flush and
// fsync it, rename it over <path> (a rename within a folder is atomic), then fsync the
// folder so that the rename itself survives a power cut. Every file chainrule writes
// (run folders, checkpoints, .npy, plot data) goes through here.
//
// Reading: every file chainrule opens must be a regular file. A FIFO, a device or a folder
// would hang the reader or feed it endless bytes; require_regular_file says so instead.
#pragma once

#include <cstdint>
#include <functional>
#include <ostream>
#include <string>

namespace chainrule::io {

// Throws std::runtime_error naming the path (and removes the temporary file) on failure.
void write_file_atomically(const std::string& path, const std::string& bytes);
void write_file_atomically(const std::string& path, const std::function<void(std::ostream&)>& body);

// fsync a file or a folder by path; throws std::runtime_error naming it on failure.
void sync_path(const std::string& path);

// Throws std::runtime_error "<what> '<path>' ...: not a regular file (a FIFO, ...)" or
// "... does not exist" unless path names a regular file (symbolic links are followed).
// Returns its size in bytes.
std::uintmax_t require_regular_file(const std::string& path, const std::string& what = "file");

// True when path names a regular file; false for a missing path or any other kind of file.
bool is_regular_file(const std::string& path);

}  // namespace chainrule::io
