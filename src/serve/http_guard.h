// The connection layer under `rlpp serve`. cpp-httplib parses requests and routes them; this layer
// owns each connection and every byte read from it, so that no request can take more memory or
// time than its limits before httplib or a handler sees it:
//
//   * one thread per open connection, up to max_connections (beyond: 503 at once), so a request
//     that is still arriving never delays another connection (GET /health stays fast);
//   * the request line must look like HTTP from its first byte (a TLS ClientHello is a 400 at
//     once) and fit max_request_line (414); the headers fit max_header_bytes / max_headers (431);
//   * Content-Length must be digits (400) within max_body_bytes (413, before the body is read);
//     Transfer-Encoding must be chunked alone (501; with Content-Length 400), and a chunked body is
//     counted while it is read (413 as soon as it passes max_body_bytes);
//   * a silence of read_timeout_ms, or a request not complete after request_timeout_ms, is a 408;
//   * after any of these the response says "Connection: close" and the connection is closed once
//     the client had time to read it (lingering close: the rest of its upload is read and dropped).
//
// Every answer is an OpenAI-style JSON error (protocol.h). httplib 0.11 offers no hook for most of
// this, so GuardedServer overrides its per-connection entry (process_and_close_socket) with its
// own stream and keep-alive loop and calls httplib's request parser for each request.
#pragma once
#ifdef RLPP_HAVE_HTTPLIB
#include <httplib.h>

#include <cstddef>
#include <optional>
#include <set>
#include <string>

#include "rlpp/serve/protocol.h"

namespace rlpp::serve::detail {

struct GuardLimits {
  size_t max_body_bytes = 1 << 20;
  size_t max_request_line = 8192;  // = httplib's CPPHTTPLIB_REQUEST_URI_MAX_LENGTH
  size_t max_header_bytes = 16 << 10;
  size_t max_headers = 100;
  int read_timeout_ms = 10000;     // longest silence while a request is arriving
  int request_timeout_ms = 30000;  // a whole request (line, headers, body), from its first byte
  int keep_alive_ms = 5000;        // an idle connection between requests
  int write_timeout_ms = 10000;
  size_t keep_alive_max = 100;     // requests per connection
  size_t max_connections = 256;
};

// The routes, so that a body sent anywhere else is refused before it is read.
struct GuardRoutes {
  std::set<std::string> get_paths;
  std::string body_path;  // the one POST path that takes a body
};

// What the connection layer knows of the request being handled on this thread.
struct RequestState {
  std::optional<ApiError> reject;  // the request is refused with this; the connection closes
  bool close = false;              // close the connection after this response
  bool body_expected = false;      // the request announced a body ...
  bool body_read = false;          // ... and it was read to its end
  bool responded = false;          // response bytes were written
};

// The state of the request this thread is serving; nullptr off a connection thread.
RequestState* current_request();

// Reads the body of the request being served through a content reader, at most max_bytes
// (decoded, chunked or not). Throws ApiError: 413 past max_bytes, 408 on a timeout, 400 when the
// body is malformed.
std::string read_body(const httplib::ContentReader& reader, size_t max_bytes);

class GuardedServer final : public httplib::Server {
 public:
  GuardedServer(GuardLimits limits, GuardRoutes routes);
  const GuardLimits& limits() const { return limits_; }
  // bind_to_port / bind_to_any_port (port 0), then a listen backlog of SOMAXCONN instead of
  // httplib's 5: with 5, connections past it during a burst wait for the kernel's SYN-ACK
  // retransmits (1 s, 3 s, ...) before they are even accepted. The bound port, or -1 (errno set).
  int bind_and_listen(const std::string& host, int port);

 private:
  bool process_and_close_socket(socket_t sock) override;
  void check_headers(const httplib::Request& req, RequestState& st) const;

  GuardLimits limits_;
  GuardRoutes routes_;
};

}  // namespace rlpp::serve::detail

#endif
