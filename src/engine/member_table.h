// MemberTable: members by id, kept small for the engine's in-memory state
// (at most 128 bytes per member besides its lots, so that 20 million
// members fit in a few GB).
//
//   MemberTable table;
//   MemberState& state = table.FindOrAdd(id);   // a new member's state is empty
//   if (const MemberState* found = table.Find(id)) ...
//   table.ForEach([](const MemberId& id, const MemberState& state) { ... });
//
// Each member's id and state sit side by side in pages of 64 that never
// move (a state's address stays valid until the member is erased); a hash
// set of 4-byte slot numbers, hashed and compared through the ids in the
// pages, finds them. A hash map from id to state would hold the same id and
// state in its slots, but at its load factor (7/16 to 7/8) every empty slot
// costs a whole id and state; here it costs 4 bytes.
//
// Not thread-safe: the engine guards each shard's table with the shard's
// lock.
#ifndef LOYALTY_SRC_ENGINE_MEMBER_TABLE_H_
#define LOYALTY_SRC_ENGINE_MEMBER_TABLE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/hash/hash.h"
#include "loyalty/ledger.h"
#include "loyalty/value.h"

namespace loyalty {

class MemberTable {
 public:
  MemberTable();
  MemberTable(MemberTable&&) noexcept = default;
  MemberTable& operator=(MemberTable&&) noexcept = default;
  MemberTable(const MemberTable&) = delete;
  MemberTable& operator=(const MemberTable&) = delete;

  // The member's state, or nullptr if the table does not hold the member.
  const MemberState* Find(const MemberId& id) const;
  MemberState* Find(const MemberId& id);
  // The member's state, added empty if the table did not hold the member.
  // Crashes past 2^32 - 1 members in one table.
  MemberState& FindOrAdd(const MemberId& id);
  // Removes the member, if held. Other members' states may move (the last
  // one added takes the erased one's place).
  void Erase(const MemberId& id);

  size_t size() const { return slots_->size(); }

  // Calls visit(id, state) for every member, in no particular order.
  template <typename F>
  void ForEach(F visit) const {
    for (uint32_t n = 0; n < slots_->size(); ++n) visit((*slots_)[n].id, (*slots_)[n].state);
  }
  // The same, with each state mutable.
  template <typename F>
  void ForEach(F visit) {
    for (uint32_t n = 0; n < slots_->size(); ++n) visit((*slots_)[n].id, (*slots_)[n].state);
  }

 private:
  struct Slot {
    MemberId id;
    MemberState state;
  };
  // Slots 0 .. size() - 1 in pages that never move.
  class Slots {
   public:
    Slot& operator[](uint32_t n) { return pages_[n >> kPageBits][n & kPageMask]; }
    const Slot& operator[](uint32_t n) const { return pages_[n >> kPageBits][n & kPageMask]; }
    uint32_t size() const { return size_; }
    // A new empty slot at the end; its number.
    uint32_t Add();
    // Empties the last slot and drops it.
    void RemoveLast();

   private:
    static constexpr int kPageBits = 6;
    static constexpr uint32_t kPageMask = (1u << kPageBits) - 1;
    std::vector<std::unique_ptr<Slot[]>> pages_;
    uint32_t size_ = 0;
  };
  // Hashes and compares slot numbers by the ids they hold, and ids alike,
  // so that the index is searched by id.
  struct SlotHash {
    using is_transparent = void;
    const Slots* slots;
    size_t operator()(uint32_t n) const { return absl::Hash<MemberId>{}((*slots)[n].id); }
    size_t operator()(const MemberId& id) const { return absl::Hash<MemberId>{}(id); }
  };
  struct SlotEq {
    using is_transparent = void;
    const Slots* slots;
    bool operator()(uint32_t a, uint32_t b) const { return a == b; }
    bool operator()(uint32_t n, const MemberId& id) const { return (*slots)[n].id == id; }
    bool operator()(const MemberId& id, uint32_t n) const { return (*slots)[n].id == id; }
  };

  std::unique_ptr<Slots> slots_;  // on the heap, so that moving the table leaves the index's pointers valid
  absl::flat_hash_set<uint32_t, SlotHash, SlotEq> index_;
};

}  // namespace loyalty

#endif  // LOYALTY_SRC_ENGINE_MEMBER_TABLE_H_
