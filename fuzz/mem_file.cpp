#include "fuzz/mem_file.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace rlpp::fuzz {

MemFile::MemFile() {
  fd_ = ::memfd_create("rlpp-fuzz-input", MFD_CLOEXEC);
  if (fd_ < 0) throw std::runtime_error(std::string("memfd_create: ") + std::strerror(errno));
  path_ = "/proc/self/fd/" + std::to_string(fd_);
}

MemFile::~MemFile() {
  if (fd_ >= 0) ::close(fd_);
}

const std::string& MemFile::write(const uint8_t* data, size_t size) {
  if (::ftruncate(fd_, 0) != 0) throw std::runtime_error(std::string("ftruncate: ") + std::strerror(errno));
  size_t done = 0;
  while (done < size) {
    const ssize_t w = ::pwrite(fd_, data + done, size - done, static_cast<off_t>(done));
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) throw std::runtime_error(std::string("pwrite: ") + std::strerror(errno));
    done += static_cast<size_t>(w);
  }
  return path_;
}

}  // namespace rlpp::fuzz
