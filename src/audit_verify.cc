// Journal verification: the chain check of store.h and the members' links,
// reported as a result.
#include "absl/strings/str_cat.h"
#include "chain.h"
#include "loyalty/audit.h"

namespace loyalty {

namespace {

JournalFault FaultOf(internal::ChainFault fault) {
  switch (fault) {
    case internal::ChainFault::kNone: return JournalFault::kNone;
    case internal::ChainFault::kModified: return JournalFault::kModified;
    case internal::ChainFault::kMissing: return JournalFault::kMissing;
    case internal::ChainFault::kReordered: return JournalFault::kReordered;
    case internal::ChainFault::kTruncated: return JournalFault::kTruncated;
    case internal::ChainFault::kUnreadable: return JournalFault::kUnreadable;
    case internal::ChainFault::kKeyMismatch: return JournalFault::kKeyMismatch;
    case internal::ChainFault::kRolledBack: return JournalFault::kRolledBack;
  }
  return JournalFault::kUnreadable;
}

}  // namespace

absl::string_view JournalFaultName(JournalFault fault) {
  switch (fault) {
    case JournalFault::kNone: return "ok";
    case JournalFault::kModified: return "modified";
    case JournalFault::kMissing: return "missing";
    case JournalFault::kReordered: return "reordered";
    case JournalFault::kTruncated: return "truncated";
    case JournalFault::kUnreadable: return "unreadable";
    case JournalFault::kKeyMismatch: return "key mismatch";
    case JournalFault::kMislinked: return "mislinked";
    case JournalFault::kRolledBack: return "rolled back";
  }
  return "unreadable";
}

std::string JournalVerification::Summary() const {
  if (ok()) return absl::StrCat("ok, ", entries, " entries, head ", ToHex(head));
  return absl::StrCat("entry ", bad_seq, ": ", JournalFaultName(fault), " (", detail, "); ", entries,
                      " entries verify before it");
}

JournalVerification VerifyJournal(const Store& store, const std::optional<std::string>& journal_key,
                                  const std::optional<JournalHead>& expected_head) {
  auto chain = internal::Chain::For(journal_key);
  if (!chain.ok()) return JournalVerification{JournalFault::kKeyMismatch, 0, {}, 0, std::string(chain.status().message())};
  // The first entry whose link is wrong, the state before it, and why.
  JournalVerification mislinked{JournalFault::kMislinked};
  internal::MemberLinks members;
  const bool links = store.KeepsMemberLinks();
  std::optional<Sha256> hash_at_expected;  // the verified hash at expected_head's seq
  internal::ChainCheck check = internal::CheckChain(store, *chain, [&](const Entry& entry) {
    if (expected_head && entry.seq == expected_head->seq) hash_at_expected = entry.hash;
    if (!links || mislinked.bad_seq != 0) return;
    const uint64_t expected = members.Next(entry);
    if (entry.member_prev != expected) {
      mislinked.bad_seq = entry.seq;
      mislinked.detail = absl::StrCat("it links to entry ", entry.member_prev, " as member ", entry.member.value(),
                                      "'s previous entry, which is ",
                                      expected == 0 ? "none" : absl::StrCat("entry ", expected));
      return;
    }
    ++mislinked.entries;
    mislinked.head = entry.hash;
  });
  if (mislinked.bad_seq != 0 && (check.fault == internal::ChainFault::kNone || mislinked.bad_seq < check.bad_seq)) {
    return mislinked;
  }
  if (expected_head) check = internal::CheckExpectedHead(std::move(check), *expected_head, hash_at_expected);
  return JournalVerification{FaultOf(check.fault), check.entries, check.head, check.bad_seq, std::move(check.detail)};
}

absl::StatusOr<JournalVerification> VerifyJournalFile(const std::string& path,
                                                      const std::optional<std::string>& journal_key,
                                                      const std::optional<JournalHead>& expected_head) {
  auto store = OpenSqliteStore(path, {.verify_on_open = false, .journal_key = journal_key, .read_only = true});
  if (!store.ok()) return store.status();
  return VerifyJournal(**store, journal_key, expected_head);
}

}  // namespace loyalty
