// The recipe fuzz corpus (fuzz/corpus/recipe/) as a regression test.
#include "fuzz/fuzz_targets.h"
#include "fuzz_corpus.h"

TEST(FuzzCorpus, Recipe) { rlpp::test::run_fuzz_corpus("recipe", &rlpp::fuzz::recipe); }
