// Verification of a stored journal's chain: CheckChain, WalkChain and
// VerifyChain.
#include "store/chain_check.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "loyalty/check.h"

namespace loyalty::internal {

ChainCheck CheckChain(const Store& store, absl::FunctionRef<void(const Entry&)> verified) {
  return CheckChain(store, Chain(), verified);
}

absl::Status ChainCheckStatus(const ChainCheck& check) {
  LOYALTY_CHECK(check.fault != ChainFault::kNone);
  if (check.fault == ChainFault::kKeyMismatch) return absl::FailedPreconditionError(check.detail);
  return absl::DataLossError(check.detail);
}

std::string ModifiedDetail(uint64_t seq) {
  return absl::StrCat("journal entry ", seq, ": modified (its hash does not match its content and predecessor)");
}

ChainCheck WalkChain(const Store& store, const Chain& chain,
                     absl::FunctionRef<bool(const Entry&, absl::string_view stored)> take) {
  ChainCheck check;
  if (absl::Status key = CheckKey(chain, store.KeyCheck(), "the journal"); !key.ok()) {
    check.fault = ChainFault::kKeyMismatch;
    check.detail = std::string(key.message());
    return check;
  }
  uint64_t expected = 1;
  bool stopped = false;     // our visitor ended the read
  bool out_of_place = false;  // classifying a seq found out of its place
  uint64_t found = 0;
  JournalHead recorded;
  absl::Status status = store.ReadSnapshot(1, &recorded, [&](const Entry& entry, absl::string_view stored) -> absl::Status {
    if (out_of_place) {
      // Reading on only to see whether the expected entry turns up later.
      if (entry.seq == check.bad_seq) {
        check.fault = ChainFault::kReordered;
        stopped = true;
        return absl::CancelledError();
      }
      return absl::OkStatus();
    }
    if (entry.seq != expected) {
      out_of_place = true;
      found = entry.seq;
      check.bad_seq = expected;
      check.fault = entry.seq < expected ? ChainFault::kReordered : ChainFault::kMissing;
      if (check.fault == ChainFault::kReordered) {
        stopped = true;
        return absl::CancelledError();
      }
      return absl::OkStatus();
    }
    if (!take(entry, stored)) {
      check.fault = ChainFault::kModified;
      check.bad_seq = entry.seq;
      check.detail = ModifiedDetail(entry.seq);
      stopped = true;
      return absl::CancelledError();
    }
    check.head = entry.hash;
    check.entries = expected;
    ++expected;
    return absl::OkStatus();
  });
  if (!status.ok() && !stopped) {
    check.fault = ChainFault::kUnreadable;
    check.bad_seq = expected;
    check.detail = absl::StrCat("journal entry ", expected, ": unreadable: ", status.message());
    return check;
  }
  if (out_of_place) {
    check.detail = absl::StrCat("journal entry ", check.bad_seq, ": ",
                                check.fault == ChainFault::kMissing ? "missing" : "reordered", " (found entry ",
                                found, " in its place)");
    return check;
  }
  if (check.fault != ChainFault::kNone) return check;
  if (recorded.seq != check.entries || recorded.hash != check.head) {
    check.fault = ChainFault::kTruncated;
    check.bad_seq = check.entries + 1;
    check.detail = absl::StrCat("journal truncated after entry ", check.entries, ": its recorded head is entry ",
                                recorded.seq, " with hash ", ToHex(recorded.hash));
  } else if (recorded.mac && recorded.mac != chain.HeadMac(recorded.seq, recorded.hash)) {
    check.fault = ChainFault::kTruncated;
    check.bad_seq = check.entries + 1;
    check.detail = absl::StrCat("journal truncated or rewritten after entry ", check.entries,
                                ": its recorded head is not authentic (its MAC does not verify under the key)");
  }
  return check;
}

ChainCheck CheckExpectedHead(ChainCheck check, const JournalHead& expected,
                             const std::optional<Sha256>& hash_at_expected) {
  if (check.fault != ChainFault::kNone || (hash_at_expected && *hash_at_expected == expected.hash)) return check;
  if (expected.seq == 0 && expected.hash == Sha256{}) return check;  // the empty journal's head: nothing to hold
  check.fault = ChainFault::kRolledBack;
  check.bad_seq = expected.seq;
  check.detail = hash_at_expected
                     ? absl::StrCat("journal entry ", expected.seq, " has hash ", ToHex(*hash_at_expected),
                                    ", not the expected head's ", ToHex(expected.hash),
                                    ": the journal was replaced from there on")
                     : absl::StrCat("the journal ends at entry ", check.entries, ", before the expected head ",
                                    expected.ToString(), ": entries were cut off or an older copy restored");
  return check;
}

ChainCheck CheckChain(const Store& store, const Chain& chain, absl::FunctionRef<void(const Entry&)> verified) {
  Sha256 previous{};  // the last verified entry's hash
  return WalkChain(store, chain, [&](const Entry& entry, absl::string_view stored) {
    if (chain.Hash(previous, stored) != entry.hash) return false;
    previous = entry.hash;
    verified(entry);
    return true;
  });
}

}  // namespace loyalty::internal

namespace loyalty {

absl::StatusOr<uint64_t> VerifyChain(const Store& store, const std::optional<std::string>& journal_key,
                                     const std::optional<JournalHead>& expected_head) {
  auto chain = internal::Chain::For(journal_key);
  if (!chain.ok()) return chain.status();
  std::optional<Sha256> hash_at_expected;
  internal::ChainCheck check = internal::CheckChain(store, *chain, [&](const Entry& entry) {
    if (expected_head && entry.seq == expected_head->seq) hash_at_expected = entry.hash;
  });
  if (expected_head) check = internal::CheckExpectedHead(std::move(check), *expected_head, hash_at_expected);
  if (check.fault != internal::ChainFault::kNone) return internal::ChainCheckStatus(check);
  return check.entries;
}

}  // namespace loyalty
