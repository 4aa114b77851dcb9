#include "command.h"

namespace rlpp::cli {

namespace {
std::vector<CommandAdder>& adders() {
  static std::vector<CommandAdder> list;  // function-local: safe during static initialisation
  return list;
}
}  // namespace

bool register_command(CommandAdder adder) {
  adders().push_back(std::move(adder));
  return true;
}

const std::vector<CommandAdder>& registered_commands() { return adders(); }

}  // namespace rlpp::cli
