// The libFuzzer driver of one entry point of fuzz_targets.h, chosen at compile time
// (-DRLPP_FUZZ_ENTRY=rlpp::fuzz::recipe). An exception that leaves the entry is a finding: it
// reaches std::terminate, which libFuzzer reports as a crash with the input saved.
#include "fuzz/fuzz_targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  RLPP_FUZZ_ENTRY(data, size);
  return 0;
}
