// Peak CPU tensor memory of a piece of code: a c10 allocator that forwards to LibTorch's default
// CPU allocator and counts live bytes. Installed once for the benchmark process.
#pragma once
#include <c10/core/Allocator.h>
#include <c10/core/CPUAllocator.h>

#include <atomic>
#include <cstddef>

namespace rlpp::bench {

class TrackingCpuAllocator final : public c10::Allocator {
 public:
  // Installs the tracker as the CPU allocator (once) and returns it.
  static TrackingCpuAllocator& install() {
    static TrackingCpuAllocator tracker(c10::GetDefaultCPUAllocator());
    static const bool installed = [] {
      c10::SetCPUAllocator(&tracker, /*priority=*/100);
      return true;
    }();
    (void)installed;
    return tracker;
  }

  c10::DataPtr allocate(size_t n) const override {
    auto* block = new Block{base_->allocate(n), n, this};
    const size_t now = live_.fetch_add(n) + n;
    size_t peak = peak_.load();
    while (now > peak && !peak_.compare_exchange_weak(peak, now)) {
    }
    return {block->inner.get(), block, &TrackingCpuAllocator::release, block->inner.device()};
  }

  // Starts a measurement: the peak restarts from the bytes live now.
  void reset_peak() { peak_.store(live_.load()); }
  size_t live_bytes() const { return live_.load(); }
  size_t peak_bytes() const { return peak_.load(); }

 private:
  struct Block {
    c10::DataPtr inner;
    size_t bytes;
    const TrackingCpuAllocator* owner;
  };
  explicit TrackingCpuAllocator(c10::Allocator* base) : base_(base) {}
  static void release(void* ctx) {
    auto* block = static_cast<Block*>(ctx);
    block->owner->live_.fetch_sub(block->bytes);
    delete block;
  }

  c10::Allocator* base_;
  mutable std::atomic<size_t> live_{0};
  mutable std::atomic<size_t> peak_{0};
};

}  // namespace rlpp::bench
