#include "http_guard.h"

#ifdef RLPP_HAVE_HTTPLIB

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace rlpp::serve::detail {

namespace {

using Clock = std::chrono::steady_clock;

thread_local RequestState* t_request = nullptr;
thread_local bool t_overflow = false;  // this connection is past max_connections: answer 503

// A poll() wait is cut into slices so that a stopping server is noticed (httplib's stop()
// invalidates the listening socket).
constexpr int kSliceMs = 100;

ApiError request_error(int status, const std::string& message, const std::string& code) {
  return ApiError(status, message, status >= 500 ? "server_error" : "invalid_request_error", "", code);
}

const char* reason_phrase(int status) {
  switch (status) {
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 408: return "Request Timeout";
    case 411: return "Length Required";
    case 413: return "Payload Too Large";
    case 414: return "URI Too Long";
    case 431: return "Request Header Fields Too Large";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    default: return "Error";
  }
}

// "HTTP/1.1 <status>" with a JSON error body and "Connection: close": for refusals that come
// before httplib could parse a request (so it cannot write the response itself).
std::string raw_response(const ApiError& e) {
  const std::string body = e.body().dump();
  return "HTTP/1.1 " + std::to_string(e.status()) + " " + reason_phrase(e.status()) +
         "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\nConnection: close\r\n\r\n" + body;
}

std::string printable_byte(unsigned char c) {
  char hex[8];
  std::snprintf(hex, sizeof(hex), "0x%02X", c);
  return hex;
}

// A connection's byte stream, as httplib reads it. It buffers reads across requests (pipelined
// bytes are kept), and checks every byte it hands out against the phase of the request:
//   request line: printable ASCII only, at most max_request_line bytes;
//   headers:      at most max_header_bytes and max_headers lines;
//   body:         at most 2 * max_body_bytes + 64 KiB raw bytes (chunk framing included; the
//                 decoded body is bounded exactly by read_body);
// and against the deadlines. A refusal records the ApiError in the request state and reads fail.
class GuardedStream final : public httplib::Stream {
 public:
  enum class Phase { kRequestLine, kHeaders, kBody };

  GuardedStream(socket_t sock, const GuardLimits& lim, RequestState& st, const std::atomic<socket_t>& listener)
      : sock_(sock), lim_(lim), st_(st), listener_(listener), buf_(16 << 10) {}

  // Waits up to timeout_ms for the next request's first byte; false when none comes, the peer
  // closed, or the server stops.
  bool wait_request(int timeout_ms) {
    if (off_ < len_) return true;
    return wait_for(POLLIN, Clock::now() + std::chrono::milliseconds(timeout_ms)) == Wait::kReady;
  }
  void begin_request() {
    phase_ = Phase::kRequestLine;
    line_bytes_ = header_bytes_ = header_lines_ = body_bytes_ = skipped_ = 0;
    deadline_ = Clock::now() + std::chrono::milliseconds(lim_.request_timeout_ms);
  }
  void headers_done() { phase_ = Phase::kBody; }

  bool is_readable() const override {
    return off_ < len_ || wait_for(POLLIN, next_read_deadline()) == Wait::kReady;
  }
  bool is_writable() const override {
    return wait_for(POLLOUT, Clock::now() + std::chrono::milliseconds(lim_.write_timeout_ms)) == Wait::kReady;
  }

  ssize_t read(char* out, size_t n) override {
    if (st_.reject || n == 0) return -1;
    for (;;) {
      if (off_ == len_) {
        const ssize_t r = fill();
        if (r <= 0) return r;
      }
      // RFC 9112 2.2: empty lines before a request line are ignored
      const char c = buf_[off_];
      if (phase_ == Phase::kRequestLine && line_bytes_ == 0 && (c == '\r' || c == '\n')) {
        if (++skipped_ > 8) return refuse(400, "empty lines instead of a request line", "bad_request_line");
        ++off_;
        continue;
      }
      break;
    }
    size_t take = std::min(n, len_ - off_);
    switch (phase_) {
      case Phase::kRequestLine:
        for (size_t i = 0; i < take; ++i) {
          const auto c = static_cast<unsigned char>(buf_[off_ + i]);
          if (c == '\n') {
            take = i + 1;
            phase_ = Phase::kHeaders;
            break;
          }
          if ((c < 0x20 && c != '\r' && c != '\t') || c >= 0x7f)
            return refuse(400,
                          "not an HTTP request: byte " + printable_byte(c) + " at offset " +
                              std::to_string(line_bytes_ + i) + " of the request line" +
                              (line_bytes_ + i == 0 && c == 0x16 ? " (a TLS handshake? this server speaks plain HTTP)"
                                                                 : ""),
                          "bad_request_line");
          if (line_bytes_ + i + 1 > lim_.max_request_line)
            return refuse(414, "the request line is longer than " + std::to_string(lim_.max_request_line) + " bytes",
                          "url_too_long");
        }
        line_bytes_ += take;
        break;
      case Phase::kHeaders:
        for (size_t i = 0; i < take; ++i) {
          if (header_bytes_ + i + 1 > lim_.max_header_bytes)
            return refuse(431, "the request headers are larger than " + std::to_string(lim_.max_header_bytes) + " bytes",
                          "headers_too_large");
          // max_headers lines and the blank line that ends them
          if (buf_[off_ + i] == '\n' && ++header_lines_ > lim_.max_headers + 1)
            return refuse(431, "the request has more than " + std::to_string(lim_.max_headers) + " headers",
                          "headers_too_large");
        }
        header_bytes_ += take;
        break;
      case Phase::kBody:
        if (body_bytes_ + take > 2 * lim_.max_body_bytes + (64 << 10))
          return refuse(413, "the request body is larger than " + std::to_string(lim_.max_body_bytes) + " bytes",
                        "body_too_large");
        body_bytes_ += take;
        break;
    }
    std::memcpy(out, buf_.data() + off_, take);
    off_ += take;
    return static_cast<ssize_t>(take);
  }

  ssize_t write(const char* ptr, size_t size) override {
    st_.responded = true;
    if (!is_writable()) return -1;
    for (;;) {
      const ssize_t r = ::send(sock_, ptr, size, MSG_NOSIGNAL);
      if (r < 0 && errno == EINTR) continue;
      return r;
    }
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override { address(true, ip, port); }
  void get_local_ip_and_port(std::string& ip, int& port) const override { address(false, ip, port); }
  socket_t socket() const override { return sock_; }

 private:
  enum class Wait { kReady, kTimeout, kStopping, kError };

  // A stopping server reads no more requests, but still writes the answers of those in flight.
  Wait wait_for(short events, Clock::time_point until) const {
    for (;;) {
      if (events == POLLIN && listener_ == INVALID_SOCKET) return Wait::kStopping;
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
      if (left <= 0) return Wait::kTimeout;
      pollfd p{sock_, events, 0};
      const int r = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left, kSliceMs)));
      if (r > 0) return Wait::kReady;  // readable also covers a closed peer (recv then returns 0)
      if (r < 0 && errno != EINTR) return Wait::kError;
    }
  }

  // The deadline of the next read: the request's own, or the silence bound, whichever is first.
  Clock::time_point next_read_deadline() const {
    return std::min(deadline_, Clock::now() + std::chrono::milliseconds(lim_.read_timeout_ms));
  }

  ssize_t fill() {
    const Clock::time_point silence = Clock::now() + std::chrono::milliseconds(lim_.read_timeout_ms);
    switch (wait_for(POLLIN, std::min(deadline_, silence))) {
      case Wait::kReady: break;
      case Wait::kStopping:
        return refuse(503, "the server is shutting down", "shutting_down");
      case Wait::kTimeout:
        if (deadline_ <= silence)
          return refuse(408, "the request was not complete after " + std::to_string(lim_.request_timeout_ms) + " ms",
                        "request_timeout");
        return refuse(408, "no request bytes came for " + std::to_string(lim_.read_timeout_ms) + " ms",
                      "request_timeout");
      case Wait::kError: return -1;
    }
    for (;;) {
      const ssize_t r = ::recv(sock_, buf_.data(), buf_.size(), 0);
      if (r < 0 && errno == EINTR) continue;
      if (r > 0) {
        off_ = 0;
        len_ = static_cast<size_t>(r);
      }
      return r;
    }
  }

  ssize_t refuse(int status, const std::string& message, const std::string& code) {
    if (!st_.reject) st_.reject = request_error(status, message, code);
    st_.close = true;
    return -1;
  }

  void address(bool remote, std::string& ip, int& port) const {
    sockaddr_storage a{};
    socklen_t n = sizeof(a);
    ip.clear();
    port = 0;
    const int r = remote ? ::getpeername(sock_, reinterpret_cast<sockaddr*>(&a), &n)
                         : ::getsockname(sock_, reinterpret_cast<sockaddr*>(&a), &n);
    if (r != 0) return;
    char text[INET6_ADDRSTRLEN] = {0};
    if (a.ss_family == AF_INET) {
      const auto* v4 = reinterpret_cast<const sockaddr_in*>(&a);
      ::inet_ntop(AF_INET, &v4->sin_addr, text, sizeof(text));
      port = ntohs(v4->sin_port);
    } else if (a.ss_family == AF_INET6) {
      const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&a);
      ::inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof(text));
      port = ntohs(v6->sin6_port);
    }
    ip = text;
  }

  socket_t sock_;
  const GuardLimits& lim_;
  RequestState& st_;
  const std::atomic<socket_t>& listener_;
  std::vector<char> buf_;
  size_t off_ = 0, len_ = 0;
  Phase phase_ = Phase::kRequestLine;
  size_t line_bytes_ = 0, header_bytes_ = 0, header_lines_ = 0, body_bytes_ = 0, skipped_ = 0;
  Clock::time_point deadline_ = Clock::time_point::max();
};

// Closes a connection whose client may still be sending (a refused upload). A close with unread
// bytes sends a reset, which can destroy the response before the client read it; so the write
// side is shut first, and what the client still sends is read and dropped until it is quiet for
// kLingerQuietMs, closes, 2 s passed, or the server stops (Apache's "lingering close").
constexpr int kLingerQuietMs = 300;
void lingering_close(socket_t sock, const std::atomic<socket_t>& listener) {
  ::shutdown(sock, SHUT_WR);
  const Clock::time_point until = Clock::now() + std::chrono::seconds(2);
  Clock::time_point quiet_until = Clock::now() + std::chrono::milliseconds(kLingerQuietMs);
  std::vector<char> sink(64 << 10);
  while (listener != INVALID_SOCKET) {
    const Clock::time_point now = Clock::now();
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(std::min(until, quiet_until) - now).count();
    if (left <= 0) break;
    pollfd p{sock, POLLIN, 0};
    const int r = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left, kSliceMs)));
    if (r < 0 && errno != EINTR) break;
    if (r > 0) {
      if (::recv(sock, sink.data(), sink.size(), 0) <= 0) break;
      quiet_until = Clock::now() + std::chrono::milliseconds(kLingerQuietMs);
    }
  }
  ::close(sock);
}

// httplib's task queue: each accepted connection gets a thread of its own (threads are kept for
// the next connections), up to max_threads busy at once. A connection past that is run on the
// accepting thread in overflow mode, which answers 503 without reading.
class ConnectionPool final : public httplib::TaskQueue {
 public:
  explicit ConnectionPool(size_t max_threads) : max_threads_(std::max<size_t>(1, max_threads)) {}

  void enqueue(std::function<void()> fn) override {
    {
      std::lock_guard<std::mutex> lk(mu_);
      if (jobs_.size() < idle_) {
        jobs_.push_back(std::move(fn));
        cv_.notify_one();
        return;
      }
      if (threads_.size() < max_threads_) {
        jobs_.push_back(std::move(fn));
        threads_.emplace_back([this] { work(); });
        return;
      }
    }
    t_overflow = true;
    fn();
    t_overflow = false;
  }

  void shutdown() override {
    {
      std::lock_guard<std::mutex> lk(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    for (std::thread& t : threads_) t.join();
  }

 private:
  void work() {
    for (;;) {
      std::function<void()> fn;
      {
        std::unique_lock<std::mutex> lk(mu_);
        ++idle_;
        cv_.wait(lk, [this] { return !jobs_.empty() || stopping_; });
        --idle_;
        if (jobs_.empty()) return;  // stopping, nothing left
        fn = std::move(jobs_.front());
        jobs_.pop_front();
      }
      fn();
    }
  }

  const size_t max_threads_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  std::vector<std::thread> threads_;
  size_t idle_ = 0;
  bool stopping_ = false;
};

std::string trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

bool iequals(const std::string& a, const char* b) { return ::strcasecmp(a.c_str(), b) == 0; }

}  // namespace

RequestState* current_request() { return t_request; }

std::string read_body(const httplib::ContentReader& reader, size_t max_bytes) {
  RequestState* st = current_request();
  std::string body;
  bool too_large = false;
  const bool ok = reader([&](const char* data, size_t n) {
    if (body.size() + n > max_bytes) {
      too_large = true;
      return false;
    }
    body.append(data, n);
    return true;
  });
  if (ok) {
    if (st) st->body_read = true;
    return body;
  }
  if (st) st->close = true;
  if (st && st->reject) throw *st->reject;
  if (too_large)
    throw request_error(413, "the request body is larger than " + std::to_string(max_bytes) + " bytes",
                        "body_too_large");
  throw request_error(400, "the request body could not be read (malformed chunked encoding, or the client stopped)",
                      "bad_body");
}

GuardedServer::GuardedServer(GuardLimits limits, GuardRoutes routes)
    : limits_(limits), routes_(std::move(routes)) {
  const size_t max_connections = limits_.max_connections;
  new_task_queue = [max_connections] { return new ConnectionPool(max_connections); };
  set_payload_max_length(limits_.max_body_bytes);
  set_keep_alive_max_count(limits_.keep_alive_max);
  set_keep_alive_timeout((limits_.keep_alive_ms + 999) / 1000);
  set_read_timeout(limits_.read_timeout_ms / 1000, (limits_.read_timeout_ms % 1000) * 1000);
  set_write_timeout(limits_.write_timeout_ms / 1000, (limits_.write_timeout_ms % 1000) * 1000);
  // httplib sets SO_REUSEPORT, with which a second server binds a port already served and the two
  // share its connections; SO_REUSEADDR alone still allows a restart over TIME_WAIT connections
  // but makes a port in use a bind error (EADDRINUSE)
  set_socket_options([](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });

  // A refused request is answered before its body is read, with or without "Expect: 100-continue".
  set_expect_100_continue_handler([](const httplib::Request&, httplib::Response& res) {
    RequestState* st = current_request();
    if (!st || !st->reject) return 100;
    res.status = st->reject->status();
    return res.status;
  });
  set_pre_routing_handler([](const httplib::Request&, httplib::Response& res) {
    RequestState* st = current_request();
    if (!st || !st->reject) return HandlerResponse::Unhandled;
    res.status = st->reject->status();
    res.set_content(st->reject->body().dump(), "application/json");
    return HandlerResponse::Handled;
  });
  // Statuses httplib sets itself (no route, unreadable request) get a JSON body too; the reason
  // the connection layer recorded comes first.
  set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;  // a handler's own error
    RequestState* st = current_request();
    if (st && st->reject) {
      res.status = st->reject->status();
      res.set_content(st->reject->body().dump(), "application/json");
      return;
    }
    if (st && res.status != 404) st->close = true;  // the request was not understood: where it ends is unknown
    ApiError e = res.status == 404
                     ? request_error(404, "no such endpoint: " + req.method + " " + req.path, "unknown_url")
                 : res.status == 413 ? request_error(413, "the request body is too large", "body_too_large")
                                     : request_error(res.status, "bad request (HTTP " + std::to_string(res.status) + ")",
                                                     res.status >= 500 ? "" : "bad_request");
    res.set_content(e.body().dump(), "application/json");
  });
  // A body left unread ends the connection: its bytes cannot be taken for the next request.
  set_post_routing_handler([](const httplib::Request&, httplib::Response& res) {
    RequestState* st = current_request();
    if (!st) return;
    if (st->body_expected && !st->body_read) st->close = true;
    if (st->close) {
      res.headers.erase("Keep-Alive");
      res.headers.erase("Connection");
      res.set_header("Connection", "close");
    }
  });
}

void GuardedServer::check_headers(const httplib::Request& req, RequestState& st) const {
  auto refuse = [&](int status, const std::string& message, const std::string& code) {
    st.reject = request_error(status, message, code);
    st.close = true;
  };
  const bool chunked = req.has_header("Transfer-Encoding");
  std::optional<uint64_t> length;
  const auto lengths = req.headers.equal_range("Content-Length");
  for (auto it = lengths.first; it != lengths.second; ++it) {
    const std::string v = trim(it->second);
    // RFC 9110 8.6: Content-Length = 1*DIGIT; 20 digits may not fit 64 bits, and is too large anyway
    if (v.empty() || v.find_first_not_of("0123456789") != std::string::npos)
      return refuse(400, "invalid Content-Length '" + it->second + "' (must be a number of bytes)", "bad_content_length");
    const uint64_t n = v.size() > 19 ? UINT64_MAX : std::stoull(v);
    if (length && *length != n) return refuse(400, "conflicting Content-Length headers", "bad_content_length");
    length = n;
  }
  if (chunked) {
    // RFC 9112 6.1: both is a smuggling risk, and only chunked is decoded here
    if (length) return refuse(400, "both Transfer-Encoding and Content-Length were sent", "bad_framing");
    const auto codings = req.headers.equal_range("Transfer-Encoding");
    for (auto it = codings.first; it != codings.second; ++it)
      if (!iequals(trim(it->second), "chunked"))
        return refuse(501, "Transfer-Encoding '" + it->second + "' is not supported (only chunked)",
                      "unsupported_transfer_encoding");
  }
  if (length && *length > limits_.max_body_bytes)
    return refuse(413,
                  "the request body has " + (*length == UINT64_MAX ? std::string("more than 2^64") : std::to_string(*length)) +
                      " bytes; this server accepts at most " + std::to_string(limits_.max_body_bytes),
                  "body_too_large");
  st.body_expected = chunked || (length && *length > 0);
  if (req.method == "POST" && req.path == routes_.body_path) {
    if (!chunked && !length)
      return refuse(411, "POST " + routes_.body_path + " needs a Content-Length or Transfer-Encoding: chunked",
                    "length_required");
    return;
  }
  if (st.body_expected) {
    if ((req.method == "GET" || req.method == "HEAD") && routes_.get_paths.count(req.path))
      return refuse(400, req.method + " " + req.path + " takes no request body", "unexpected_body");
    return refuse(404, "no such endpoint: " + req.method + " " + req.path, "unknown_url");
  }
}

int GuardedServer::bind_and_listen(const std::string& host, int port) {
  const int bound = port == 0 ? bind_to_any_port(host) : (bind_to_port(host, port) ? port : -1);
  if (bound > 0) ::listen(svr_sock_, SOMAXCONN);  // on a listening socket: only the backlog changes
  return bound;
}

bool GuardedServer::process_and_close_socket(socket_t sock) {
  if (t_overflow) {
    // answered on the accepting thread: never wait for this client
    const std::string r =
        raw_response(request_error(503, "the server has " + std::to_string(limits_.max_connections) +
                                            " connections open (--max-connections); retry later",
                                   "server_busy"));
    (void)::send(sock, r.data(), r.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    char sink[4096];
    while (::recv(sock, sink, sizeof(sink), MSG_DONTWAIT) > 0) {
    }
    ::shutdown(sock, SHUT_RDWR);
    ::close(sock);
    return false;
  }
  RequestState st;
  GuardedStream strm(sock, limits_, st, svr_sock_);
  t_request = &st;
  bool ok = true;
  bool linger = false;
  for (size_t count = 0; count < limits_.keep_alive_max; ++count) {
    // a new connection has read_timeout to start its request; an idle one, keep_alive
    if (!strm.wait_request(count == 0 ? limits_.read_timeout_ms : limits_.keep_alive_ms)) break;
    st = RequestState{};
    strm.begin_request();
    bool closed = false;
    ok = process_request(strm, count + 1 == limits_.keep_alive_max, closed, [&](httplib::Request& req) {
      strm.headers_done();
      check_headers(req, st);
    });
    if (!ok && !st.responded && st.reject) {
      const std::string r = raw_response(*st.reject);
      ok = strm.write(r.data(), r.size()) == static_cast<ssize_t>(r.size());
    }
    if (st.close || st.reject) linger = true;
    if (!ok || closed || st.close || st.reject) break;
  }
  t_request = nullptr;
  if (linger) {
    lingering_close(sock, svr_sock_);
  } else {
    ::shutdown(sock, SHUT_RDWR);
    ::close(sock);
  }
  return ok;
}

}  // namespace rlpp::serve::detail

#endif
