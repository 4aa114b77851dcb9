// Where this process stands among the ranks of a data-parallel run, as its launcher describes it
// in torchrun's environment variables (`rlpp launch`, or `python3 -m torch.distributed.run`):
// RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT.
#pragma once
#include <functional>
#include <string>

namespace rlpp::dist {

struct World {
  int rank = 0;              // 0 … world_size − 1
  int world_size = 1;
  int local_rank = 0;        // rank among the processes of this machine
  int local_world_size = 1;
  std::string master_addr = "127.0.0.1";  // where rank 0 hosts the rendezvous store
  int master_port = 29500;

  bool distributed() const { return world_size > 1; }
};

using GetEnv = std::function<const char*(const char*)>;

// None of the variables set: a world of one. RANK and WORLD_SIZE set: a rank of a run, and
// MASTER_ADDR and MASTER_PORT are required when WORLD_SIZE > 1 (LOCAL_RANK and LOCAL_WORLD_SIZE
// default to RANK and WORLD_SIZE). A missing, malformed or out-of-range variable is a UserError
// naming it.
World read_world(const GetEnv& getenv);
World read_world();  // from the process environment

}  // namespace rlpp::dist
