// Internal: an allocator for containers that grow to many megabytes (the
// idempotency-key index), whose large blocks the kernel may back with
// transparent huge pages.
//
//   absl::flat_hash_map<std::string, KeyRecord, KeyHash, KeyEq,
//                       HugePageAllocator<std::pair<const std::string, KeyRecord>>> keys;
//
// A hash table that doubles allocates a fresh table each time and touches
// all of it at once. On the virtual machines we measure on, a fault of a
// fresh 4 KiB page costs more than the key insertions that fill it; one
// 2 MiB page per fault makes growing the key index about twice as fast.
// Blocks under 2 MiB come from operator new as usual. Where huge pages are
// off (or only given on request and refused), madvise is a harmless hint.
// Stateless: all instances are equal; thread-safe as malloc.
#ifndef LOYALTY_SRC_JOURNAL_HUGE_PAGE_ALLOCATOR_H_
#define LOYALTY_SRC_JOURNAL_HUGE_PAGE_ALLOCATOR_H_

#include <sys/mman.h>

#include <cstddef>
#include <cstdlib>
#include <new>

#include "loyalty/check.h"

namespace loyalty::internal {

template <typename T>
class HugePageAllocator {
 public:
  using value_type = T;

  HugePageAllocator() = default;
  template <typename U>
  HugePageAllocator(const HugePageAllocator<U>&) {}  // NOLINT: rebinding, as std::allocator

  T* allocate(size_t n) {
    const size_t bytes = n * sizeof(T);
    if (bytes < kHugePage) return static_cast<T*>(::operator new(bytes));
    const size_t size = (bytes + kHugePage - 1) / kHugePage * kHugePage;
    void* block = std::aligned_alloc(kHugePage, size);
    LOYALTY_CHECK(block != nullptr);
    madvise(block, size, MADV_HUGEPAGE);
    return static_cast<T*>(block);
  }
  void deallocate(T* block, size_t n) {
    if (n * sizeof(T) < kHugePage) {
      ::operator delete(block);
    } else {
      std::free(block);
    }
  }

  friend bool operator==(const HugePageAllocator&, const HugePageAllocator&) { return true; }

 private:
  static constexpr size_t kHugePage = size_t{2} << 20;
};

}  // namespace loyalty::internal

#endif  // LOYALTY_SRC_JOURNAL_HUGE_PAGE_ALLOCATOR_H_
