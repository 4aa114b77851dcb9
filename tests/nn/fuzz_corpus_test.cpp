// The safetensors and tokenizer fuzz corpora (fuzz/corpus/) as regression tests.
#include "fuzz/fuzz_targets.h"
#include "fuzz_corpus.h"

TEST(FuzzCorpus, SafetensorsHeader) {
  rlpp::test::run_fuzz_corpus("safetensors_header", &rlpp::fuzz::safetensors_header);
}
TEST(FuzzCorpus, TokenizerJson) { rlpp::test::run_fuzz_corpus("tokenizer_json", &rlpp::fuzz::tokenizer_json); }
