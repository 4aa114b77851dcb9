#include "rlpp/core/fs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "rlpp/core/error.h"

namespace rlpp::core {

namespace fs = std::filesystem;

static std::string errno_text(int err) { return std::strerror(err); }

static std::string parent_dir(const std::string& path) {
  const fs::path p = fs::path(path).parent_path();
  return p.empty() ? std::string(".") : p.string();
}

std::string temp_path_for(const std::string& path) {
  static std::atomic<uint64_t> counter{0};
  return path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
}

// Makes a completed rename durable: the new directory entry reaches the disk with the data.
static void fsync_dir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;  // best effort: the rename itself already happened
  ::fsync(fd);
  ::close(fd);
}

void rename_into_place(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) {
    const int err = errno;
    ::unlink(from.c_str());
    throw UserError("cannot write '" + to + "': rename from '" + from + "' failed: " + errno_text(err));
  }
  fsync_dir(parent_dir(to));
}

void atomic_write_file(const std::string& path, std::string_view bytes) {
  const std::string tmp = temp_path_for(path);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (fd < 0) {
    throw UserError("cannot write '" + path + "': cannot create temp file '" + tmp + "': " + errno_text(errno));
  }
  auto fail = [&](const std::string& what, int err) {
    ::close(fd);
    ::unlink(tmp.c_str());
    throw UserError("cannot write '" + path + "': " + what + ": " + errno_text(err));
  };
  const char* p = bytes.data();
  size_t left = bytes.size();
  while (left > 0) {
    const ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("write failed", errno);
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) fail("fsync failed", errno);
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    throw UserError("cannot write '" + path + "': close failed: " + errno_text(err));
  }
  rename_into_place(tmp, path);
}

void ensure_output_dir(const std::string& dir) {
  if (dir.empty()) throw UserError("output directory is empty: give a path such as runs/cartpole");
  std::error_code ec;
  const fs::file_status st = fs::status(dir, ec);
  if (fs::exists(st)) {
    if (!fs::is_directory(st)) throw UserError("output directory '" + dir + "' exists and is not a directory");
  } else {
    fs::create_directories(dir, ec);
    if (ec) throw UserError("cannot create output directory '" + dir + "': " + ec.message());
  }
  const std::string probe = (fs::path(dir) / (".rlpp-write-probe." + std::to_string(::getpid()))).string();
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    throw UserError("output directory '" + dir + "' is not writable: " + errno_text(errno));
  }
  ::close(fd);
  ::unlink(probe.c_str());
}

std::string read_file(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) throw UserError("cannot read '" + path + "': it is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UserError("cannot read '" + path + "': " + errno_text(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw UserError("cannot read '" + path + "': read error");
  return ss.str();
}

}  // namespace rlpp::core
