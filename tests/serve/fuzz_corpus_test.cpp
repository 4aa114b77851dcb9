// The chat-completions request fuzz corpus (fuzz/corpus/chat_request/) as a regression test.
#include "fuzz/fuzz_targets.h"
#include "fuzz_corpus.h"

TEST(FuzzCorpus, ChatRequest) { rlpp::test::run_fuzz_corpus("chat_request", &rlpp::fuzz::chat_request); }
