// One process group of a data-parallel run, on LibTorch's c10d: a TCP store at rank 0 for the
// rendezvous and Gloo collectives (CPU tensors). Every collective is bounded by the timeout: a rank
// that died, hung or left makes the others fail with a UserError naming this rank and the
// operation, instead of waiting forever.
//
//   World w = read_world();                       // torchrun's variables (world.h)
//   auto comm = Comm::connect(w, {});             // every rank calls it
//   comm->allreduce_sum(grads);                   // (P) fp32, in place: the sum over ranks
#pragma once
#include <torch/torch.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "rlpp/dist/world.h"

namespace rlpp::dist {

struct CommOptions {
  // "gloo" (CPU tensors) or "auto" (gloo here: this build has no NCCL process group).
  std::string backend = "auto";
  std::chrono::milliseconds timeout{std::chrono::minutes(5)};  // rendezvous and each collective
};

class Comm {
 public:
  virtual ~Comm() = default;

  // Joins the group of `world`: rank 0 listens at master_addr:master_port, the others connect
  // there. UserError when the port is taken, the master cannot be reached within the timeout, or
  // the backend is not available.
  static std::unique_ptr<Comm> connect(const World& world, const CommOptions& opts);

  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual const std::string& backend() const = 0;

  // In place: every rank ends with the elementwise sum over ranks (a contiguous CPU tensor).
  virtual void allreduce_sum(torch::Tensor& t) = 0;
  // In place: every rank ends with `root`'s values.
  virtual void broadcast(torch::Tensor& t, int root) = 0;
  virtual void barrier() = 0;
  // Byte strings of any length, through the rendezvous store (checkpoints, run directories; not
  // for per-step traffic). broadcast_bytes: every rank ends with `root`'s `bytes`. gather_bytes:
  // `root` gets every rank's `mine` in rank order; the others get {}.
  virtual void broadcast_bytes(std::string& bytes, int root) = 0;
  virtual std::vector<std::string> gather_bytes(const std::string& mine, int root) = 0;

  // Conveniences on the collectives above: in place over a raw buffer.
  void allreduce_sum(double* v, int64_t n);
  void allreduce_sum(float* v, int64_t n);
  // Whether any rank passes true (e.g. a stop request that reached some ranks only).
  bool any(bool mine);

  // Seconds this rank has spent inside collectives (waiting for the others included).
  double busy_seconds() const { return busy_s_; }

  // Every rank passes its own `text` (e.g. its resolved recipe): a UserError on every rank, naming
  // the ranks whose text differs from rank 0's and `what`, unless all are equal.
  void check_same(const std::string& what, const std::string& text);

 protected:
  double busy_s_ = 0;  // accumulated by the implementation's collectives
};

}  // namespace rlpp::dist
