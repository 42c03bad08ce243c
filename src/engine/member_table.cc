// MemberTable: see include/loyalty/member_table.h.
#include "engine/member_table.h"

#include <limits>
#include <utility>

#include "loyalty/check.h"

namespace loyalty {

uint32_t MemberTable::Slots::Add() {
  LOYALTY_CHECK(size_ < std::numeric_limits<uint32_t>::max());
  if ((size_ & kPageMask) == 0 && (size_ >> kPageBits) == pages_.size()) {
    pages_.push_back(std::make_unique<Slot[]>(kPageMask + 1));
  }
  return size_++;
}

void MemberTable::Slots::RemoveLast() {
  LOYALTY_CHECK(size_ > 0);
  --size_;
  (*this)[size_] = Slot{};
  // Keep one spare page, so that adding and removing at a page's edge does
  // not allocate each time.
  if (pages_.size() > (size_ >> kPageBits) + 2) pages_.pop_back();
}

MemberTable::MemberTable()
    : slots_(std::make_unique<Slots>()), index_(0, SlotHash{slots_.get()}, SlotEq{slots_.get()}) {}

const MemberState* MemberTable::Find(const MemberId& id) const {
  auto it = index_.find(id);
  return it == index_.end() ? nullptr : &(*slots_)[*it].state;
}

MemberState* MemberTable::Find(const MemberId& id) {
  auto it = index_.find(id);
  return it == index_.end() ? nullptr : &(*slots_)[*it].state;
}

MemberState& MemberTable::FindOrAdd(const MemberId& id) {
  if (MemberState* found = Find(id)) return *found;
  const uint32_t n = slots_->Add();
  (*slots_)[n].id = id;
  index_.insert(n);
  return (*slots_)[n].state;
}

void MemberTable::Erase(const MemberId& id) {
  auto it = index_.find(id);
  if (it == index_.end()) return;
  const uint32_t erased = *it;
  index_.erase(it);
  const uint32_t last = slots_->size() - 1;
  if (erased != last) {
    // The last member moves into the erased one's slot.
    index_.erase(last);
    (*slots_)[erased] = std::move((*slots_)[last]);
    index_.insert(erased);
  }
  slots_->RemoveLast();
}

}  // namespace loyalty
