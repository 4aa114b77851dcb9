// A raw TCP client for the server tests: it sends exactly the bytes a misbehaving client would
// (no HTTP library in between) and reads what the server answers, with time limits, so that "no
// answer" shows up as an empty response instead of a hang.
#pragma once
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <map>
#include <string>

namespace rlpp::serve::testing {

using Clock = std::chrono::steady_clock;

inline double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

struct RawResponse {
  int status = 0;                              // 0: no status line came
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? "" : it->second;
  }
};

// "HTTP/1.1 413 ...\r\nName: value\r\n...\r\n\r\nbody" -> parts (body cut to Content-Length)
inline RawResponse parse_response(const std::string& raw) {
  RawResponse r;
  const size_t head_end = raw.find("\r\n\r\n");
  if (raw.rfind("HTTP/1.", 0) != 0 || head_end == std::string::npos) return r;
  r.status = std::atoi(raw.c_str() + 9);
  size_t pos = raw.find("\r\n") + 2;
  while (pos < head_end) {
    const size_t eol = raw.find("\r\n", pos);
    const std::string line = raw.substr(pos, eol - pos);
    const size_t colon = line.find(':');
    if (colon != std::string::npos) {
      std::string name = line.substr(0, colon);
      std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
      r.headers[name] = line.substr(line.find_first_not_of(' ', colon + 1));
    }
    pos = eol + 2;
  }
  r.body = raw.substr(head_end + 4);
  if (r.headers.count("content-length")) r.body = r.body.substr(0, std::stoul(r.headers["content-length"]));
  return r;
}

class RawConn {
 public:
  explicit RawConn(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
  }
  ~RawConn() {
    if (fd_ >= 0) ::close(fd_);
  }
  RawConn(const RawConn&) = delete;
  RawConn& operator=(const RawConn&) = delete;

  bool connected() const { return connected_; }
  int fd() const { return fd_; }

  bool send_all(const std::string& s) {
    size_t off = 0;
    while (off < s.size()) {
      const ssize_t r = ::send(fd_, s.data() + off, s.size() - off, MSG_NOSIGNAL);
      if (r <= 0) return false;
      off += static_cast<size_t>(r);
    }
    return true;
  }

  // Reads until the server closes the connection or timeout_ms passes; closed() tells which.
  std::string read_until_close(int timeout_ms) {
    std::string out;
    const Clock::time_point until = Clock::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
      if (left <= 0) return out;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left)) <= 0) return out;
      char buf[65536];
      const ssize_t r = ::recv(fd_, buf, sizeof(buf), 0);
      if (r <= 0) {
        closed_ = true;  // EOF, or a reset after the answer
        return out;
      }
      out.append(buf, static_cast<size_t>(r));
    }
  }

  // Reads one whole response (its headers and Content-Length bytes of body), at most timeout_ms.
  std::string read_response(int timeout_ms) {
    const Clock::time_point until = Clock::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
      const size_t head_end = pending_.find("\r\n\r\n");
      if (head_end != std::string::npos) {
        const RawResponse r = parse_response(pending_);
        const size_t want = head_end + 4 + (r.headers.count("content-length") ? std::stoul(r.headers.at("content-length")) : 0);
        if (pending_.size() >= want) {
          std::string one = pending_.substr(0, want);
          pending_.erase(0, want);
          return one;
        }
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
      if (left <= 0) return "";
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left)) <= 0) return "";
      char buf[65536];
      const ssize_t r = ::recv(fd_, buf, sizeof(buf), 0);
      if (r <= 0) {
        closed_ = true;
        return "";
      }
      pending_.append(buf, static_cast<size_t>(r));
    }
  }

  bool closed() const { return closed_; }

 private:
  int fd_ = -1;
  bool connected_ = false;
  bool closed_ = false;
  std::string pending_;
};

}  // namespace rlpp::serve::testing
