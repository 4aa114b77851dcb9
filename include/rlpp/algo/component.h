// The component machinery (core/component.h) under the names the algo layer has always used.
#pragma once
#include "rlpp/core/component.h"

namespace rlpp::algo {

using core::build_component;
using core::build_default;
using core::describe_component;
using core::Factory;
using core::factory_of;
using core::listing;

}  // namespace rlpp::algo
