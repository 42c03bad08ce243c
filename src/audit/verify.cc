// Journal verification: the chain check of store.h, the members' links and
// the journal's rules (journal_rules.h), reported as a result.
#include "absl/strings/str_cat.h"
#include "store/chain_check.h"
#include "ledger/journal_rules.h"
#include "loyalty/audit/verify.h"

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
    case JournalFault::kImpossible: return "impossible";
  }
  return "unreadable";
}

std::string JournalVerification::Summary() const {
  if (ok()) return absl::StrCat("ok, ", entries, " entries, head ", ToHex(head));
  return absl::StrCat("entry ", bad_seq, ": ", JournalFaultName(fault), " (", detail, "); ", entries,
                      " entries verify before it");
}

JournalVerification VerifyJournal(const Store& store, const std::optional<std::string>& journal_key,
                                  const std::optional<JournalHead>& expected_head, const Program* program) {
  auto chain = internal::Chain::For(journal_key);
  if (!chain.ok()) return JournalVerification{JournalFault::kKeyMismatch, 0, {}, 0, std::string(chain.status().message())};
  // The entries that fit so far, then the first that does not and why.
  JournalVerification unfit;
  const bool links = store.KeepsMemberLinks();
  internal::JournalProjection journal({.program = program, .links = links});
  Sha256 before_transfer{};  // the head before a transfer still waiting for its receiving half
  std::optional<Sha256> hash_at_expected;  // the verified hash at expected_head's seq
  auto fail = [&](JournalFault fault, uint64_t seq, std::string detail) {
    unfit.fault = fault;
    unfit.bad_seq = seq;
    unfit.detail = std::move(detail);
  };
  internal::ChainCheck check = internal::CheckChain(store, *chain, [&](const Entry& entry) {
    if (expected_head && entry.seq == expected_head->seq) hash_at_expected = entry.hash;
    if (unfit.fault != JournalFault::kNone) return;
    const MemberState* member = internal::IsProgramEntry(entry) ? nullptr : journal.Find(entry.member);
    const uint64_t expected = member == nullptr ? 0 : member->last_seq;
    if (links && !internal::IsProgramEntry(entry) && entry.member_prev != expected) {
      fail(JournalFault::kMislinked, entry.seq,
           absl::StrCat("it links to entry ", entry.member_prev, " as member ", entry.member.value(),
                        "'s previous entry, which is ", expected == 0 ? "none" : absl::StrCat("entry ", expected)));
      return;
    }
    if (absl::Status admitted = journal.Admit(entry); !admitted.ok()) {
      fail(JournalFault::kImpossible, entry.seq, std::string(admitted.message()));
      return;
    }
    if (std::holds_alternative<entries::TransferredOut>(entry.body)) before_transfer = unfit.head;
    ++unfit.entries;
    unfit.head = entry.hash;
  });
  if (unfit.fault != JournalFault::kNone && (check.fault == internal::ChainFault::kNone || unfit.bad_seq < check.bad_seq)) {
    return unfit;
  }
  if (expected_head) check = internal::CheckExpectedHead(std::move(check), *expected_head, hash_at_expected);
  if (check.fault != internal::ChainFault::kNone) {
    return JournalVerification{FaultOf(check.fault), check.entries, check.head, check.bad_seq, std::move(check.detail)};
  }
  if (absl::Status finished = journal.Finish(); !finished.ok()) {
    // The transfer's sending half is the entry at fault.
    const uint64_t sent = unfit.entries;
    return JournalVerification{JournalFault::kImpossible, sent - 1, before_transfer, sent,
                               std::string(finished.message())};
  }
  return unfit;
}

absl::StatusOr<JournalVerification> VerifyJournalFile(const std::string& path,
                                                      const std::optional<std::string>& journal_key,
                                                      const std::optional<JournalHead>& expected_head,
                                                      const Program* program) {
  auto store = OpenSqliteStore(path, {.verify_on_open = false, .journal_key = journal_key, .read_only = true});
  if (!store.ok()) return store.status();
  return VerifyJournal(**store, journal_key, expected_head, program);
}

}  // namespace loyalty
