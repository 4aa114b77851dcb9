#include "rlpp/dist/comm.h"

#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <functional>
#include <sstream>

#include "rlpp/core/error.h"

namespace rlpp::dist {

namespace {

// This machine's address on the route to host:port (a UDP socket connected there sends
// nothing); the host itself when that cannot be found.
std::string address_towards(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* res = nullptr;
  if (::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res) != 0 || !res) return host;
  std::string out = host;
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  if (fd >= 0 && ::connect(fd, res->ai_addr, res->ai_addrlen) == 0) {
    sockaddr_in local{};
    socklen_t n = sizeof(local);
    char text[INET_ADDRSTRLEN] = {};
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &n) == 0 &&
        ::inet_ntop(AF_INET, &local.sin_addr, text, sizeof(text))) {
      out = text;
    }
  }
  if (fd >= 0) ::close(fd);
  ::freeaddrinfo(res);
  return out;
}

std::string seconds(std::chrono::milliseconds t) {
  std::ostringstream o;
  o << static_cast<double>(t.count()) / 1000.0 << " s";  // "3 s", "2.5 s", "300 s"
  return o.str();
}

class GlooComm final : public Comm {
 public:
  GlooComm(const World& w, const CommOptions& opts) : rank_(w.rank), size_(w.world_size), timeout_(opts.timeout) {
    const std::string where = w.master_addr + ":" + std::to_string(w.master_port);
    c10d::TCPStoreOptions so;
    so.port = static_cast<std::uint16_t>(w.master_port);
    so.isServer = w.rank == 0;
    so.numWorkers = static_cast<std::size_t>(w.world_size);
    so.waitWorkers = true;
    so.timeout = opts.timeout;
    try {
      store_ = c10::make_intrusive<c10d::TCPStore>(w.master_addr, so);
    } catch (const std::exception& e) {
      const std::string why = rank_ == 0 ? ": cannot host the rendezvous at " + where +
                                               " (the port is in use, or not every rank arrived within " +
                                               seconds(timeout_) + ")"
                                         : ": cannot reach the master at " + where + " within " + seconds(timeout_);
      throw core::UserError("rank " + std::to_string(rank_) + why + ": " + first_line(e.what()));
    }
    auto go = c10d::ProcessGroupGloo::Options::create(opts.timeout);
    // The ranks' own connections: on the interface GLOO_SOCKET_IFNAME names (as with torchrun),
    // else on this machine's address on the route to the master.
    const char* ifname = std::getenv("GLOO_SOCKET_IFNAME");
    try {
      go->devices.push_back(ifname && *ifname ? c10d::ProcessGroupGloo::createDeviceForInterface(ifname)
                                              : c10d::ProcessGroupGloo::createDeviceForHostname(
                                                    address_towards(w.master_addr, w.master_port)));
    } catch (const std::exception& e) {
      throw core::UserError("rank " + std::to_string(rank_) + ": no network device for the process group" +
                            (ifname && *ifname ? " on GLOO_SOCKET_IFNAME=" + std::string(ifname) : "") + ": " +
                            first_line(e.what()));
    }
    try {
      pg_ = c10::make_intrusive<c10d::ProcessGroupGloo>(store_, rank_, size_, go);
    } catch (const std::exception& e) {
      throw core::UserError("rank " + std::to_string(rank_) + ": joining the process group at " + where +
                            " failed: " + first_line(e.what()));
    }
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  const std::string& backend() const override { return backend_; }

  void allreduce_sum(torch::Tensor& t) override {
    run("allreduce", [&] {
      std::vector<at::Tensor> v{t};
      pg_->allreduce(v)->wait(timeout_);
    });
  }

  void broadcast(torch::Tensor& t, int root) override {
    run("broadcast", [&] {
      std::vector<at::Tensor> v{t};
      c10d::BroadcastOptions o;
      o.rootRank = root;
      pg_->broadcast(v, o)->wait(timeout_);
    });
  }

  void barrier() override {
    run("barrier", [&] { pg_->barrier()->wait(timeout_); });
  }

  // Two Gloo broadcasts: the length, then the bytes (a store round trip and a barrier cost
  // milliseconds; these cost what a small allreduce costs).
  void broadcast_bytes(std::string& bytes, int root) override {
    run("broadcast of bytes", [&] {
      c10d::BroadcastOptions o;
      o.rootRank = root;
      torch::Tensor n = torch::tensor({static_cast<int64_t>(bytes.size())}, torch::kInt64);
      std::vector<at::Tensor> v{n};
      pg_->broadcast(v, o)->wait(timeout_);
      const int64_t len = n.item<int64_t>();
      if (len == 0) {
        bytes.clear();
        return;
      }
      torch::Tensor data = rank_ == root ? torch::from_blob(bytes.data(), {len}, torch::kUInt8).clone()
                                         : torch::empty({len}, torch::kUInt8);
      std::vector<at::Tensor> d{data};
      pg_->broadcast(d, o)->wait(timeout_);
      if (rank_ != root) bytes.assign(reinterpret_cast<const char*>(data.data_ptr<uint8_t>()), static_cast<size_t>(len));
    });
  }

  // Keys are numbered by a counter every rank advances in step (the calls are collective); a
  // barrier after the reads lets the writer delete its keys.
  std::vector<std::string> gather_bytes(const std::string& mine, int root) override {
    const std::string key = "rlpp/gather/" + std::to_string(seq_++) + "/";
    std::vector<std::string> all;
    run("gather of bytes", [&] {
      if (rank_ != root) {
        store_->set(key + std::to_string(rank_), std::vector<uint8_t>(mine.begin(), mine.end()));
        return;
      }
      all.resize(static_cast<size_t>(size_));
      all[static_cast<size_t>(root)] = mine;
      for (int r = 0; r < size_; ++r) {
        if (r == root) continue;
        const std::vector<uint8_t> v = store_->get(key + std::to_string(r));
        all[static_cast<size_t>(r)].assign(v.begin(), v.end());
        store_->deleteKey(key + std::to_string(r));
      }
    });
    barrier();
    return all;
  }

 private:
  static std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

  // A collective, its failure (a peer gone, a timeout) as a UserError naming this rank.
  void run(const char* op, const std::function<void()>& fn) {
    const auto t0 = std::chrono::steady_clock::now();
    try {
      fn();
      busy_s_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    } catch (const std::exception& e) {
      throw core::UserError("rank " + std::to_string(rank_) + ": " + op + " failed (another rank died, hung past " +
                            seconds(timeout_) + " or left): " + first_line(e.what()));
    }
  }

  int rank_, size_;
  std::chrono::milliseconds timeout_;
  std::string backend_ = "gloo";
  int64_t seq_ = 0;  // byte collectives so far (the same on every rank)
  c10::intrusive_ptr<c10d::Store> store_;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> pg_;
};

}  // namespace

std::unique_ptr<Comm> Comm::connect(const World& world, const CommOptions& opts) {
  core::require(opts.backend == "auto" || opts.backend == "gloo",
                "distributed backend '" + opts.backend + "': this build has gloo only (CPU tensors)");
  return std::make_unique<GlooComm>(world, opts);
}

void Comm::allreduce_sum(double* v, int64_t n) {
  torch::Tensor t = torch::from_blob(v, {n}, torch::kDouble);
  allreduce_sum(t);
}

void Comm::allreduce_sum(float* v, int64_t n) {
  torch::Tensor t = torch::from_blob(v, {n}, torch::kFloat32);
  allreduce_sum(t);
}

bool Comm::any(bool mine) {
  double v = mine ? 1.0 : 0.0;
  allreduce_sum(&v, 1);
  return v > 0.5;
}

void Comm::check_same(const std::string& what, const std::string& text) {
  // Every rank writes the hash of its text into its own slot; the sum gives everyone all of them.
  torch::Tensor h = torch::zeros({size()}, torch::kLong);
  h[rank()] = static_cast<int64_t>(std::hash<std::string>{}(text) >> 1);
  allreduce_sum(h);
  std::string differ;
  for (int r = 1; r < size(); ++r) {
    if (h[r].item<int64_t>() != h[0].item<int64_t>()) differ += (differ.empty() ? "" : ", ") + std::to_string(r);
  }
  core::require(differ.empty(), "rank " + std::to_string(rank()) + ": the " + what + " of rank(s) " + differ +
                                    " differs from rank 0's: every rank must run the same " + what);
}

}  // namespace rlpp::dist
