// Comm across real processes: the test binary starts copies of itself as the ranks (the
// CommWorker test, which runs only with RLPP_COMM_TEST set) and checks their exit codes.
#include "rlpp/dist/comm.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "common/files.h"
#include "common/ranks.h"
#include "common/temp_dir.h"
#include "rlpp/core/error.h"

namespace rlpp::dist {
namespace {

using Clock = std::chrono::steady_clock;

std::vector<int> run_ranks(const std::string& scenario, int size, const testing::TempDir& dir) {
  return testing::run_ranks("CommWorker.Scenario", "RLPP_COMM_TEST", scenario, size, dir);
}

// The ranks' half. Scenarios: "sum" (the collectives and check_same), "dies" (rank 1 leaves
// after joining; rank 0's next collective must fail within the timeout).
TEST(CommWorker, Scenario) {
  const char* scenario = std::getenv("RLPP_COMM_TEST");
  if (scenario == nullptr) GTEST_SKIP() << "a rank of the Comm tests (started by them)";
  const std::string s = scenario;
  std::ofstream log(std::getenv("RLPP_RANK_LOG"));
  CommOptions opts;
  opts.timeout = std::chrono::seconds(4);
  std::unique_ptr<Comm> comm;
  try {
    comm = Comm::connect(read_world(), opts);
  } catch (const std::exception& e) {
    log << "connect: " << e.what() << std::endl;
    throw;
  }
  const int r = comm->rank();
  if (s == "sum") {
    torch::Tensor t = torch::full({4}, static_cast<float>(r + 1));
    comm->allreduce_sum(t);
    EXPECT_TRUE(torch::equal(t, torch::full({4}, 3.0f))) << t;
    torch::Tensor b = torch::full({2}, static_cast<double>(r) * 10 + 7, torch::kDouble);
    comm->broadcast(b, /*root=*/1);
    EXPECT_TRUE(torch::equal(b, torch::full({2}, 17.0, torch::kDouble))) << b;
    comm->barrier();
    // byte strings of any length and content, through the store
    const std::string payload("from rank 1\0and a zero byte", 27);
    std::string got = r == 1 ? payload : "";
    comm->broadcast_bytes(got, /*root=*/1);
    EXPECT_EQ(got, payload);
    const std::vector<std::string> all = comm->gather_bytes(std::string(static_cast<size_t>(r + 1), 'a' + r), 0);
    if (r == 0) {
      EXPECT_EQ(all, (std::vector<std::string>{"a", "bb"}));
    } else {
      EXPECT_TRUE(all.empty());
    }
    EXPECT_TRUE(comm->any(r == 1));
    EXPECT_FALSE(comm->any(false));
    EXPECT_NO_THROW(comm->check_same("recipe", "[run]\nseed = 1\n"));
    try {
      comm->check_same("recipe", r == 0 ? "a" : "b");
      ADD_FAILURE() << "different recipes accepted";
    } catch (const core::UserError& e) {
      EXPECT_NE(std::string(e.what()).find("recipe of rank(s) 1 differs"), std::string::npos) << e.what();
    }
  } else if (s == "dies") {
    comm->barrier();            // both have joined: the run is under way
    if (r == 1) std::_Exit(0);  // then gone without a word
    const auto t0 = Clock::now();
    torch::Tensor t = torch::ones({8});
    try {
      comm->allreduce_sum(t);
      ADD_FAILURE() << "a collective with a dead rank returned";
    } catch (const core::UserError& e) {
      log << e.what() << std::endl;
      EXPECT_NE(std::string(e.what()).find("rank 0: allreduce failed"), std::string::npos) << e.what();
    }
    EXPECT_LT(std::chrono::duration<double>(Clock::now() - t0).count(), 20.0);
  }
}

TEST(Comm, CollectivesAcrossTwoProcesses) {
  testing::TempDir dir("comm");
  EXPECT_EQ(run_ranks("sum", 2, dir), (std::vector<int>{0, 0})) << testing::slurp(dir.sub("rank0.txt"));
}

TEST(Comm, ADeadRankFailsTheOthersWithinTheTimeout) {
  testing::TempDir dir("comm");
  const auto t0 = Clock::now();
  EXPECT_EQ(run_ranks("dies", 2, dir), (std::vector<int>{0, 0})) << testing::slurp(dir.sub("rank0.txt"));
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - t0).count(), 30.0);
}

TEST(Comm, APortInUseAndAnUnreachableMasterAreClearErrors) {
  CommOptions opts;
  opts.timeout = std::chrono::seconds(2);
  // Something else listens on the port rank 0 should host the store at.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  ::listen(fd, 1);
  socklen_t n = sizeof(a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &n);
  World w;
  w.world_size = 2;
  w.master_port = ntohs(a.sin_port);
  try {
    Comm::connect(w, opts);
    ADD_FAILURE() << "a taken port accepted";
  } catch (const core::UserError& e) {
    EXPECT_NE(std::string(e.what()).find("rank 0: cannot host the rendezvous"), std::string::npos) << e.what();
  }
  ::close(fd);
  // Rank 1 waits for a master that never comes: an error naming it once the timeout passes.
  w.rank = 1;
  w.master_port = testing::free_port();
  const auto t0 = Clock::now();
  try {
    Comm::connect(w, opts);
    ADD_FAILURE() << "connected to nobody";
  } catch (const core::UserError& e) {
    EXPECT_NE(std::string(e.what()).find("rank 1: cannot reach the master at 127.0.0.1:"), std::string::npos)
        << e.what();
  }
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - t0).count(), 20.0);
  EXPECT_THROW(Comm::connect(w, CommOptions{"nccl", opts.timeout}), core::UserError);
}

}  // namespace
}  // namespace rlpp::dist
