// The game-file fuzz corpus (fuzz/corpus/game_file/) as a regression test.
#include "fuzz/fuzz_targets.h"
#include "fuzz_corpus.h"

TEST(FuzzCorpus, GameFile) { rlpp::test::run_fuzz_corpus("game_file", &rlpp::fuzz::game_file); }
