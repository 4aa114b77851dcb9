// Fuzz entry points: one per parser of untrusted input, each a plain function so that the same code
// runs under libFuzzer (fuzz/CMakeLists.txt, scripts/fuzz.sh) and, compiled with the normal
// compiler, over the committed corpus in the unit tests (tests/<layer>/fuzz_corpus_test.cpp).
//
// An entry feeds `data` to its parser the way the program does and returns normally when the input
// was accepted or rejected with the parser's documented error (core::UserError; serve::ApiError for
// the HTTP request). Anything else leaves the function: another exception, or a PropertyViolation
// when an accepted input breaks an invariant the program relies on. libFuzzer reports an escaping
// exception as a crash (std::terminate), the corpus tests as a failure naming the file.
#pragma once
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace rlpp::fuzz {

// An accepted input that breaks an invariant (e.g. a resolved recipe that does not read back).
class PropertyViolation : public std::logic_error {
 public:
  explicit PropertyViolation(const std::string& what) : std::logic_error("fuzz property violated: " + what) {}
};

// TOML recipe: core::Recipe::parse, every section bound to options of every kind, the resolved
// values written and read back unchanged.
void recipe(const uint8_t* data, size_t size);
// A .safetensors file: nn::lm::read_safetensors (size prefix, JSON header, offsets, data).
void safetensors_header(const uint8_t* data, size_t size);
// A tokenizer file: nn::load_tokenizer (tokenizer.json or rlpp's character tokenizer), then the
// loaded tokenizer encodes the input's own text and decodes ids.
void tokenizer_json(const uint8_t* data, size_t size);
// A POST /v1/chat/completions body: serve::parse_chat_request, then the messages and tools turned
// into a prompt in every chat format, as the server does; the error body of a rejection is
// serialised. Also nn::parse_assistant_reply on the raw bytes (it must never throw).
void chat_request(const uint8_t* data, size_t size);
// A game file: certify::parse_game_file, as JSON when the text starts with '{', else as TOML.
void game_file(const uint8_t* data, size_t size);

}  // namespace rlpp::fuzz
