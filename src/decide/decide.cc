// Decide: validation of each command against the members' state, and the
// entries it produces. Pure: no clock, no I/O, no mutation.
#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "loyalty/accrual.h"
#include "loyalty/check.h"
#include "loyalty/command.h"
#include "loyalty/redemption.h"
#include "loyalty/tiers.h"
#include "journal/command_codec.h"
#include "ledger/debt.h"
#include "ledger/lapse.h"
#include "core/overloaded.h"

namespace loyalty {
namespace {

using internal::Overloaded;

constexpr size_t kMaxKey = 128;
constexpr size_t kMaxText = 256;
constexpr absl::Duration kMaxHoldTtl = absl::Hours(24 * 366);

absl::Status Invalid(absl::string_view field, absl::string_view reason) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", reason));
}

absl::Status CheckText(absl::string_view field, const std::string& text, bool required) {
  if (required && text.empty()) return Invalid(field, "must not be empty");
  if (text.size() > kMaxText) return Invalid(field, absl::StrCat("longer than ", kMaxText, " bytes"));
  return absl::OkStatus();
}

absl::Status CheckPositive(absl::string_view field, Points amount) {
  if (amount <= Points(0)) return Invalid(field, absl::StrCat("must be positive, got ", amount.value()));
  return absl::OkStatus();
}

absl::Status CheckCounters(const std::vector<CounterDelta>& counters) {
  for (size_t i = 0; i < counters.size(); ++i) {
    std::string field = absl::StrCat("counters[", i, "]");
    if (absl::Status s = CheckText(field + ".counter", counters[i].counter, true); !s.ok()) return s;
    if (absl::Status s = CheckPositive(field + ".amount", counters[i].amount); !s.ok()) return s;
  }
  return absl::OkStatus();
}

// Points available to spend at `at`: lots not yet lapsed.
Points Spendable(const MemberState& member, Instant at) {
  Points total;
  for (const Lot& lot : member.lots) {
    if (lot.expires_at > at) total = Points(total.value() + lot.remaining.value());
  }
  return total;
}

bool AnyLot(const Lot&) { return true; }

// The draws that take `amount` from the member's `eligible` lots in
// spending order, or FailedPrecondition if the valid lots do not hold enough.
absl::StatusOr<std::vector<LotDraw>> Draw(const MemberState& member, const MemberId& id, Points amount, Instant at,
                                          absl::FunctionRef<bool(const Lot&)> eligible = AnyLot) {
  std::vector<LotDraw> draws;
  int64_t needed = amount.value();
  for (size_t index : SpendableLots(member, at)) {
    if (needed == 0) break;
    const Lot& lot = member.lots[index];
    if (!eligible(lot)) continue;
    int64_t take = std::min(needed, lot.remaining.value());
    draws.push_back({lot.id, Points(take)});
    needed -= take;
  }
  if (needed > 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("member ", id.value(), ": insufficient points: ", Spendable(member, at).value(),
                     " available, ", amount.value(), " requested"));
  }
  return draws;
}

// Points coming back from `returning` draws settle up to `debt` first, in
// the draws' order (soonest-expiring lots first); returns what goes back to
// the lots and sets `*paid`.
std::vector<LotDraw> SettleDebt(const std::vector<LotDraw>& returning, Points debt, Points* paid) {
  int64_t total = 0;
  for (const LotDraw& draw : returning) total += draw.amount.value();
  *paid = Points(std::min(total, debt.value()));
  return internal::AfterDebt(returning, *paid);
}

std::string DebtText(Points paid) {
  return paid.IsZero() ? "" : absl::StrCat("; ", paid.value(), " settle debt");
}

absl::Status CheckRoom(const MemberState& member, const MemberId& id, Points incoming) {
  // balance + held stays representable, so that every total can be shown.
  auto total = Add(member.balance, member.held());
  if (!total.ok() || !Add(*total, incoming).ok()) {
    return absl::OutOfRangeError(absl::StrCat("member ", id.value(), ": crediting ", incoming.value(),
                                              " points would overflow the balance"));
  }
  return absl::OkStatus();
}

Entry Header(const Program& program, const MemberId& member, Instant at, Instant recorded_at,
             const std::string& key, const CommandDigest& digest) {
  Entry entry;
  entry.member = member;
  entry.business_time = at;
  entry.recorded_at = recorded_at;
  entry.idempotency_key = key;
  entry.command_digest = digest;
  entry.version = program.InForceAt(at).id;
  return entry;
}

// The last local day on which points lapsing at `lapses` are still valid.
std::string LastValidDay(const Program& program, Instant lapses) {
  if (lapses == Instant::Max()) return "no expiry";
  return program.zone().LocalDate(Instant::FromUnixMicros(lapses.unix_micros() - 1)).ToString();
}

std::string DrawText(const std::vector<LotDraw>& draws) {
  std::string text;
  for (const LotDraw& draw : draws) {
    absl::StrAppend(&text, text.empty() ? "" : ", ", draw.amount.value(), " from lot ", draw.lot.entry,
                    draw.lot.part == 0 ? "" : absl::StrCat("/", draw.lot.part));
  }
  return text;
}

// Whether a flag of the member, or the tier `status` gives it, protects
// its points from lapsing.
bool Protected(const ProgramVersion& version, const std::vector<std::string>& sorted_flags, const TierStatus& status) {
  for (const std::string& flag : version.expiry.protected_by_flags) {
    if (std::binary_search(sorted_flags.begin(), sorted_flags.end(), flag)) return true;
  }
  const Tier* tier = version.tiers.Find(CurrentTier(version.tiers, status));
  return tier != nullptr && tier->benefits.protects_from_expiry;
}
bool Protected(const ProgramVersion& version, const MemberState& member, const TierStatus& status) {
  return Protected(version, member.detail().flags, status);
}
bool Protected(const ProgramVersion& version, const MemberState& member) {
  return Protected(version, member.detail().flags, member.detail().status);
}

// The lots whose validity changes when protection from expiry begins (they
// stop lapsing) or ends (a fresh term from `at`).
std::vector<LotRenewal> ProtectionRenewals(const ProgramVersion& version, const MemberState& member, bool was_protected,
                                           bool now_protected, Instant at) {
  std::vector<LotRenewal> renewals;
  if (was_protected == now_protected) return renewals;
  for (const Lot& lot : member.lots) {
    if (lot.remaining <= Points(0)) continue;
    if (now_protected && lot.expires_at > at && lot.expires_at != Instant::Max()) {
      renewals.push_back({lot.id, Instant::Max()});
    } else if (!now_protected && lot.expires_at == Instant::Max()) {
      renewals.push_back({lot.id, version.LotExpiry(at)});
    }
  }
  return renewals;
}

// The status `member` has after `decision`.
TierStatus StatusAfter(const TierStatus& status, const TierDecision& decision) {
  TierStatus after = status;
  after.tier = decision.tier;
  after.valid_until = decision.valid_until;
  after.lifetime_tier = decision.lifetime_tier;
  return after;
}

// A tier_changed entry for `decision` (or for a subscription change when
// `paid`), with the lots whose protection from expiry it begins or ends.
Entry TierEntry(const Program& program, const MemberState& member, const TierStatus& before,
                const TierDecision& decision, bool paid, Instant at, Entry entry) {
  const ProgramVersion& version = program.InForceAt(at);
  TierStatus after = before;
  if (paid) {
    after.paid_tier = decision.tier;
    after.paid_until = decision.valid_until;
  } else {
    after = StatusAfter(before, decision);
  }
  entries::TierChanged body;
  body.tier = decision.tier;
  body.valid_until = decision.valid_until;
  body.reason = decision.reason;
  body.paid = paid;
  body.lifetime_tier = paid ? before.lifetime_tier : decision.lifetime_tier;
  if (decision.on_counters) {
    body.period_first = decision.span.first.days_since_epoch();
    body.period_last = decision.span.last.days_since_epoch();
  }
  body.renewals =
      ProtectionRenewals(version, member, Protected(version, member, before), Protected(version, member, after), at);
  entry.explanation = absl::StrCat(paid ? "paid tier " : "status ", decision.tier.empty() ? "none" : decision.tier, " (",
                                   decision.reason, ")");
  if (!decision.tier.empty()) {
    absl::StrAppend(&entry.explanation, decision.valid_until == Instant::Max()
                                            ? ", no end date"
                                            : ", valid through " + LastValidDay(program, decision.valid_until));
  }
  if (!decision.explanation.empty()) absl::StrAppend(&entry.explanation, ": ", decision.explanation);
  if (!body.renewals.empty()) {
    absl::StrAppend(&entry.explanation, Protected(version, member, after) ? "; points no longer lapse (" : "; fresh term for (",
                    body.renewals.size(), " lots)");
  }
  entry.body = std::move(body);
  return entry;
}

// Counter changes as Decide is about to record them.
std::vector<PendingCounter> Pending(const std::vector<CounterDelta>& counters, int32_t day, bool subtract) {
  std::vector<PendingCounter> pending;
  for (const CounterDelta& delta : counters) {
    pending.push_back({delta.counter, day, subtract ? -delta.amount.value() : delta.amount.value()});
  }
  return pending;
}

// The local day credit `credit` counted its qualifying counters on.
int32_t CreditDay(const Program& program, const MemberState& member, uint64_t credit) {
  if (auto it = member.detail().accruals.find(credit); it != member.detail().accruals.end()) return it->second.local_day;
  const Lot* lot = member.FindLot(LotId{credit, 0});
  LOYALTY_CHECK(lot != nullptr);
  return program.zone().LocalDate(lot->earned_at).days_since_epoch();
}

// The expiry of a lot earned at `at`: never while the member is protected.
Instant NewLotExpiry(const ProgramVersion& version, const MemberState& member, Instant at) {
  return Protected(version, member) ? Instant::Max() : version.LotExpiry(at);
}

// Spendable points at `at` in lots earned before the version's
// earned_before date (none if it declares none).
Points ProtectedPoints(const ProgramVersion& version, const MemberState& member, Instant at) {
  if (!version.grandfathering.earned_before) return Points(0);
  int64_t total = 0;
  for (const Lot& lot : member.lots) {
    if (lot.expires_at > at && lot.earned_at < *version.grandfathering.earned_before) total += lot.remaining.value();
  }
  return Points(total);
}

// Takes the redemption discount of the member's tier off a fresh price
// (off each share of an earned_before split), rounded down.
absl::Status ApplyTierDiscount(const ProgramVersion& version, const MemberState& member, PriceQuote& quote) {
  const std::string tier = CurrentTier(version.tiers, member.detail().status);
  const Tier* rules = version.tiers.Find(tier);
  if (rules == nullptr || rules->benefits.redemption_discount.mantissa() == 0) return absl::OkStatus();
  const Rate& share = rules->benefits.redemption_discount;
  auto off = [&](Points& part) -> absl::StatusOr<Points> {
    auto waived = Scale(part, share, Rounding::kDown);
    if (!waived.ok()) return waived.status();
    part = Points(part.value() - waived->value());
    return *waived;
  };
  Points waived;
  if (quote.price.grandfathering == "earned_before") {
    auto a = off(quote.price.old_points);
    if (!a.ok()) return a.status();
    auto b = off(quote.price.new_points);
    if (!b.ok()) return b.status();
    waived = Points(a->value() + b->value());
    quote.amount = Points(quote.price.old_points.value() + quote.price.new_points.value());
  } else {
    auto a = off(quote.amount);
    if (!a.ok()) return a.status();
    waived = *a;
  }
  quote.price.tier = tier;
  quote.price.discount = waived;
  absl::StrAppend(&quote.explanation, ", ", waived.value(), " off for ", tier, " (", share.ToString(), ")");
  return absl::OkStatus();
}

// The price of `reward` now, or the price of quote `quote_id` if it still
// stands: under the version that made it, or under a newer version that
// locks the prices of quotes made before it took effect.
absl::StatusOr<PriceQuote> ResolvePrice(const Program& program, const MemberState& member, const MemberId& id,
                                        const std::string& reward, uint64_t quote_id, Instant at) {
  if (reward.empty()) return Invalid("reward", "must not be empty");
  const ProgramVersion& now = program.InForceAt(at);
  if (quote_id == 0) {
    auto priced = PriceReward(program, reward, at, ProtectedPoints(now, member, at));
    if (!priced.ok()) return priced;
    if (absl::Status s = ApplyTierDiscount(now, member, *priced); !s.ok()) return s;
    return priced;
  }
  auto it = member.detail().quotes.find(quote_id);
  if (it == member.detail().quotes.end()) {
    return absl::NotFoundError(absl::StrCat("member ", id.value(), ": no open quote ", quote_id));
  }
  const Quote& quote = it->second;
  if (quote.price.reward != reward) {
    return Invalid("reward", absl::StrCat("quote ", quote_id, " is for ", quote.price.reward, ", not ", reward));
  }
  if (at >= quote.expires_at) {
    return absl::FailedPreconditionError(absl::StrCat("member ", id.value(), ": quote ", quote_id, " lapsed at ",
                                                      quote.expires_at.ToString()));
  }
  PriceQuote priced{quote.amount, quote.price, absl::StrCat("quote ", quote_id, ": ", quote.amount.value(), " points")};
  if (&program.InForceAt(quote.quoted_at) == &now) return priced;
  if (!now.grandfathering.price_lock || quote.quoted_at >= now.effective_from) {
    return absl::FailedPreconditionError(absl::StrCat(
        "member ", id.value(), ": quote ", quote_id, " was priced under ", quote.price.version, "; ", now.id,
        " (in force since ", now.effective_from.ToString(), ") does not lock earlier prices: quote again"));
  }
  priced.price.grandfathering = "price_lock";
  absl::StrAppend(&priced.explanation, ", price locked under ", now.id);
  return priced;
}

// The lots that pay `quote`: for an earned_before split, the old share
// from lots earned before the cut-off and the new share from the others.
absl::StatusOr<std::vector<LotDraw>> DrawForPrice(const Program& program, const MemberState& member,
                                                  const MemberId& id, const PriceQuote& quote, Instant at) {
  if (quote.price.grandfathering != "earned_before") return Draw(member, id, quote.amount, at);
  const ProgramVersion* version = program.Find(quote.price.version);
  LOYALTY_CHECK(version != nullptr && version->grandfathering.earned_before.has_value());
  const Instant cutoff = *version->grandfathering.earned_before;
  auto old_draws = Draw(member, id, quote.price.old_points, at, [&](const Lot& lot) { return lot.earned_at < cutoff; });
  if (!old_draws.ok()) return old_draws.status();
  auto new_draws = Draw(member, id, quote.price.new_points, at, [&](const Lot& lot) { return lot.earned_at >= cutoff; });
  if (!new_draws.ok()) return new_draws.status();
  old_draws->insert(old_draws->end(), new_draws->begin(), new_draws->end());
  return old_draws;
}

absl::Status CheckCounterRoom(const MemberState& member, const std::vector<CounterDelta>& counters) {
  for (const CounterDelta& delta : counters) {
    auto it = member.detail().counters.find(delta.counter);
    if (it != member.detail().counters.end() && !Add(it->second, delta.amount).ok()) {
      return absl::OutOfRangeError(absl::StrCat("counters: ", delta.counter, " would overflow"));
    }
  }
  return absl::OkStatus();
}

// `entry`, followed by the status change `decision` if there is one.
std::vector<Entry> WithTierChange(const Program& program, const MemberState& member,
                                  const std::optional<TierDecision>& decision, Instant at, Entry&& entry) {
  std::vector<Entry> out;
  out.reserve(decision ? 2 : 1);
  if (decision) {
    Entry header = Header(program, entry.member, entry.business_time, entry.recorded_at, entry.idempotency_key,
                          entry.command_digest);
    out.push_back(std::move(entry));
    out.push_back(TierEntry(program, member, member.detail().status, *decision, false, at, std::move(header)));
  } else {
    out.push_back(std::move(entry));
  }
  return out;
}

// Accrue: the accrual rules of the version in force at `at`, with the
// member's rule usage on that local day and month for the caps.
absl::StatusOr<std::vector<Entry>> DecideAccrual(const Program& program, const MemberState& member,
                                                 const MemberId& id, const Accrue& command, Instant at, Entry entry) {
  const Activity& activity = command.activity;
  if (absl::Status s = CheckText("activity.id", activity.id, true); !s.ok()) return s;
  const ProgramVersion& version = program.InForceAt(at);
  const Date day = version.zone.LocalDate(at);
  const int32_t month = day.year() * 12 + day.month() - 1;
  auto usage = [&](absl::string_view rule) {
    auto it = member.detail().rule_use.find(rule);
    if (it == member.detail().rule_use.end()) return RuleUsage{};
    const RuleUse& use = it->second;
    return RuleUsage{use.day == day.days_since_epoch() ? use.day_points : Points(0),
                     use.month == month ? use.month_points : Points(0), use.total, use.uses};
  };
  const std::string tier = CurrentTier(version.tiers, member.detail().status);
  const Tier* tier_rules = version.tiers.Find(tier);
  AccrualContext context{at, tier, !member.has_accrued, usage,
                         tier_rules == nullptr ? std::nullopt : tier_rules->benefits.earn_bonus};
  auto result = EvaluateAccrual(version, activity, context);
  if (!result.ok()) return result.status();
  if (absl::Status s = CheckRoom(member, id, result->redeemable); !s.ok()) return s;
  if (absl::Status s = CheckCounterRoom(member, result->counters); !s.ok()) return s;
  auto upgrade = UpgradeOnCounters(program, member, at, Pending(result->counters, day.days_since_epoch(), false));
  entries::Credited body;
  body.amount = result->redeemable;
  body.debt_paid = std::min(body.amount, member.debt());
  // A status reached by this very accrual protects its points too.
  body.expires_at = upgrade && Protected(version, member, StatusAfter(member.detail().status, *upgrade))
                        ? Instant::Max()
                        : NewLotExpiry(version, member, at);
  body.source = absl::StrCat(ActivityTypeName(activity), " ", activity.id);
  body.counters = result->counters;
  body.activity = activity.id;
  body.line_points = result->per_line;
  body.unattributed = result->unattributed;
  for (const AccrualLine& line : result->lines) body.grants.push_back({line.rule_id, line.granted});
  body.local_day = day.days_since_epoch();
  entry.explanation = absl::StrCat("accrued ", body.amount.value(), " points on ", body.source, " under ", version.id);
  if (body.amount > Points(0)) absl::StrAppend(&entry.explanation, ", valid through ", LastValidDay(program, body.expires_at));
  for (const AccrualLine& line : result->lines) {
    absl::StrAppend(&entry.explanation, "; ", line.rule_id, " -> ", line.balance, ": ", FormulaText(line));
  }
  absl::StrAppend(&entry.explanation, DebtText(body.debt_paid));
  entry.body = std::move(body);
  return WithTierChange(program, member, upgrade, at, std::move(entry));
}

// A closed membership earns nothing, and spends only within its grace.
absl::Status CheckOpen(const MemberState& member, const MemberId& id, const Command& command, Instant at) {
  if (!member.closed) return absl::OkStatus();
  bool earns = std::holds_alternative<Credit>(command) || std::holds_alternative<Accrue>(command) ||
               std::holds_alternative<GrantTier>(command) || std::holds_alternative<SubscribeTier>(command) ||
               (std::holds_alternative<Adjust>(command) && std::get<Adjust>(command).delta > Points(0));
  bool spends = std::holds_alternative<Redeem>(command) || std::holds_alternative<PlaceHold>(command) ||
                std::holds_alternative<RedeemReward>(command) || std::holds_alternative<HoldReward>(command) ||
                std::holds_alternative<PayWithPointsAtTill>(command) || std::holds_alternative<Transfer>(command);
  if (earns || std::holds_alternative<CloseMembership>(command)) {
    return absl::FailedPreconditionError(absl::StrCat("member ", id.value(), " is closed"));
  }
  if (spends && at >= member.detail().redeemable_until) {
    return absl::FailedPreconditionError(absl::StrCat("member ", id.value(), " is closed; its points were redeemable until ",
                                                      member.detail().redeemable_until.ToString()));
  }
  return absl::OkStatus();
}

// The partner of catalog item `reward` in `version`, or "".
std::string RewardPartner(const ProgramVersion* version, absl::string_view reward) {
  if (version == nullptr) return "";
  for (const CatalogItem& item : version->redemption.catalog) {
    if (item.id == reward) return item.partner;
  }
  return "";
}

// The coalition partner where `command` happens ("" for none), checked
// against the partners of the version in force if it lists any. The loader
// has checked the partners of catalog items.
absl::StatusOr<std::string> PartnerOfCommand(const Program& program, const MemberState& member,
                                             const Command& command, Instant at) {
  const ProgramVersion& version = program.InForceAt(at);
  auto named = [&](absl::string_view field, const std::string& partner) -> absl::StatusOr<std::string> {
    if (!partner.empty() && !version.partners.empty() && version.FindPartner(partner) == nullptr) {
      return Invalid(field, absl::StrCat("\"", partner, "\" is not a partner of version ", version.id));
    }
    return partner;
  };
  return std::visit(
      Overloaded{
          [&](const Credit& c) { return named("partner", c.partner); },
          [&](const Redeem& c) { return named("partner", c.partner); },
          [&](const PayWithPointsAtTill& c) { return named("partner", c.partner); },
          [&](const Accrue& c) -> absl::StatusOr<std::string> {
            const auto* purchase = std::get_if<Purchase>(&c.activity.detail);
            return purchase == nullptr ? "" : named("activity.detail.partner", purchase->partner);
          },
          [&](const RedeemReward& c) -> absl::StatusOr<std::string> { return RewardPartner(&version, c.reward); },
          [&](const HoldReward& c) -> absl::StatusOr<std::string> { return RewardPartner(&version, c.reward); },
          [&](const CaptureHold& c) -> absl::StatusOr<std::string> {
            auto hold = member.detail().holds.find(c.hold);
            if (hold == member.detail().holds.end()) return "";
            return RewardPartner(program.Find(hold->second.price.version), hold->second.price.reward);
          },
          [&](const auto&) -> absl::StatusOr<std::string> { return ""; },
      },
      command);
}

// The member was enrolled by `at`: nothing happens to a member before its
// enrolment.
absl::Status CheckEnrolledBy(const MemberState& member, const MemberId& id, Instant at) {
  if (at >= member.enrolled_at) return absl::OkStatus();
  return Invalid("at", absl::StrCat(at.ToString(), " is before member ", id.value(), "'s enrolment at ",
                                    member.enrolled_at.ToString()));
}

}  // namespace

bool internal::LapsesForInactivity(const ProgramVersion& version, const MemberState& member, Instant as_of) {
  return version.expiry.inactivity_months > 0 && !Protected(version, member) &&
         AddMonths(version.zone.LocalDate(member.last_activity), version.expiry.inactivity_months) <=
             version.zone.LocalDate(as_of);
}

absl::Status CheckBusinessTime(absl::string_view field, Instant at) {
  static const Instant kFirst = Instant::FromUnixMicros(-2208988800LL * 1000000);  // 1900-01-01
  static const Instant kLast = Instant::FromUnixMicros(221845392000LL * 1000000);  // 9000-01-01
  if (at < kFirst || at >= kLast) {
    return Invalid(field, absl::StrCat(at.ToString(), " is outside 1900-01-01 to 9000-01-01"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Entry>> Decide(const Program& program, MemberLookup members,
                                          const Command& command, Instant recorded_at) {
  const std::string& key = IdempotencyKeyOf(command);
  if (key.empty() || key.size() > kMaxKey) {
    return Invalid("idempotency_key", absl::StrCat("must have 1 to ", kMaxKey, " bytes"));
  }
  const MemberId& id = MemberOf(command);
  if (id.value().empty()) return Invalid("member", "must not be empty");
  if (id.value().front() == '#') return Invalid("member", "ids starting with '#' are reserved");
  const Instant at = AtOf(command).value_or(recorded_at);
  if (absl::Status s = CheckBusinessTime("at", at); !s.ok()) return s;
  std::string record = RecordOf(command);
  const CommandDigest digest = internal::DigestOfRecord(record);
  const MemberState* member = members(id);

  if (std::holds_alternative<Enroll>(command)) {
    if (member != nullptr && member->enrolled) {
      return absl::AlreadyExistsError(absl::StrCat("member ", id.value(), " is already enrolled"));
    }
    Entry entry = Header(program, id, at, recorded_at, key, digest);
    entry.body = entries::Enrolled{};
    entry.explanation = "enrolled";
    entry.command = std::move(record);
    return std::vector<Entry>{std::move(entry)};
  }
  if (member == nullptr || !member->enrolled) {
    return absl::NotFoundError(absl::StrCat("member ", id.value(), " is not enrolled"));
  }
  if (absl::Status enrolled = CheckEnrolledBy(*member, id, at); !enrolled.ok()) return enrolled;
  if (absl::Status open = CheckOpen(*member, id, command, at); !open.ok()) return open;
  Entry entry = Header(program, id, at, recorded_at, key, digest);
  auto partner = PartnerOfCommand(program, *member, command, at);
  if (!partner.ok()) return partner.status();
  entry.partner = *std::move(partner);

  auto decided = std::visit(
      Overloaded{
          [&](const Enroll&) -> absl::StatusOr<std::vector<Entry>> {
            LOYALTY_CHECK(false);
            return absl::InternalError("unreachable");
          },
          [&](const Credit& c) -> absl::StatusOr<std::vector<Entry>> {
            if (absl::Status s = CheckPositive("amount", c.amount); !s.ok()) return s;
            if (absl::Status s = CheckText("source", c.source, false); !s.ok()) return s;
            if (absl::Status s = CheckCounters(c.counters); !s.ok()) return s;
            if (absl::Status s = CheckRoom(*member, id, c.amount); !s.ok()) return s;
            if (absl::Status s = CheckCounterRoom(*member, c.counters); !s.ok()) return s;
            const ProgramVersion& version = program.InForceAt(at);
            const int32_t day = version.zone.LocalDate(at).days_since_epoch();
            auto upgrade = UpgradeOnCounters(program, *member, at, Pending(c.counters, day, false));
            Instant protected_expiry = upgrade && Protected(version, *member, StatusAfter(member->detail().status, *upgrade))
                                           ? Instant::Max()
                                           : NewLotExpiry(version, *member, at);
            Instant expires_at = c.expires_at.value_or(protected_expiry);
            if (expires_at <= at) return Invalid("expires_at", "must be after the credit's time");
            entries::Credited body;
            body.amount = c.amount;
            body.debt_paid = std::min(c.amount, member->debt());
            body.expires_at = expires_at;
            body.source = c.source;
            body.counters = c.counters;
            body.local_day = day;
            entry.explanation = absl::StrCat("credit of ", c.amount.value(), " points", c.source.empty() ? "" : " from ",
                                             c.source, ", valid through ", LastValidDay(program, expires_at),
                                             DebtText(body.debt_paid));
            entry.body = std::move(body);
            return WithTierChange(program, *member, upgrade, at, std::move(entry));
          },
          [&](const Redeem& c) -> absl::StatusOr<std::vector<Entry>> {
            if (absl::Status s = CheckPositive("amount", c.amount); !s.ok()) return s;
            if (absl::Status s = CheckText("reason", c.reason, false); !s.ok()) return s;
            auto draws = Draw(*member, id, c.amount, at);
            if (!draws.ok()) return draws.status();
            entry.explanation = absl::StrCat("redeemed ", c.amount.value(), " points",
                                             c.reason.empty() ? "" : " for " + c.reason, ": ",
                                             DrawText(*draws));
            entry.body = entries::Debited{c.amount, *std::move(draws), RewardPrice{}, 0, std::nullopt};
            return std::vector<Entry>{std::move(entry)};
          },
          [&](const PlaceHold& c) -> absl::StatusOr<std::vector<Entry>> {
            if (absl::Status s = CheckPositive("amount", c.amount); !s.ok()) return s;
            if (absl::Status s = CheckText("reason", c.reason, false); !s.ok()) return s;
            if (c.ttl <= absl::ZeroDuration() || c.ttl > kMaxHoldTtl) {
              return Invalid("ttl", "must be positive and at most 366 days");
            }
            auto draws = Draw(*member, id, c.amount, at);
            if (!draws.ok()) return draws.status();
            Instant expires_at = Instant::FromAbsl(at.ToAbsl() + c.ttl);
            entry.explanation = absl::StrCat("hold of ", c.amount.value(), " points until ",
                                             expires_at.ToString(), c.reason.empty() ? "" : " for " + c.reason,
                                             ": ", DrawText(*draws));
            entry.body = entries::HoldPlaced{c.amount, expires_at, *std::move(draws), RewardPrice{}, 0};
            return std::vector<Entry>{std::move(entry)};
          },
          [&](const CaptureHold& c) -> absl::StatusOr<std::vector<Entry>> {
            auto it = member->detail().holds.find(c.hold);
            if (it == member->detail().holds.end()) {
              return absl::NotFoundError(absl::StrCat("member ", id.value(), ": no open hold ", c.hold));
            }
            if (at >= it->second.expires_at) {
              return absl::FailedPreconditionError(absl::StrCat(
                  "member ", id.value(), ": hold ", c.hold, " lapsed at ", it->second.expires_at.ToString()));
            }
            const Hold& hold = it->second;
            RewardPrice price = hold.price;
            const ProgramVersion& now = program.InForceAt(at);
            if (!price.reward.empty() && &program.InForceAt(hold.placed_at) != &now) {
              if (!now.grandfathering.price_lock || hold.placed_at >= now.effective_from) {
                return absl::FailedPreconditionError(absl::StrCat(
                    "member ", id.value(), ": hold ", c.hold, " was priced under ", price.version, "; ", now.id,
                    " does not lock earlier prices: release it and hold again"));
              }
              price.grandfathering = "price_lock";
            }
            entry.explanation = absl::StrCat("captured hold ", c.hold, ": ", hold.amount.value(), " points",
                                             price.reward.empty() ? "" : " for " + price.reward,
                                             price.grandfathering == "price_lock" ? ", price locked under " + now.id : "");
            entry.body = entries::HoldCaptured{c.hold, hold.amount, hold.draws, price};
            return std::vector<Entry>{std::move(entry)};
          },
          [&](const ReleaseHold& c) -> absl::StatusOr<std::vector<Entry>> {
            auto it = member->detail().holds.find(c.hold);
            if (it == member->detail().holds.end()) {
              return absl::NotFoundError(absl::StrCat("member ", id.value(), ": no open hold ", c.hold));
            }
            entries::HoldReleased body{c.hold, false, it->second.amount, {}, Points(0)};
            body.draws = SettleDebt(it->second.draws, member->debt(), &body.debt_paid);
            entry.explanation = absl::StrCat("released hold ", c.hold, ": ", it->second.amount.value(),
                                             " points back to their lots", DebtText(body.debt_paid));
            entry.body = std::move(body);
            return std::vector<Entry>{std::move(entry)};
          },
          [&](const ReverseEarn& c) -> absl::StatusOr<std::vector<Entry>> {
            if (absl::Status s = CheckPositive("amount", c.amount); !s.ok()) return s;
            if (absl::Status s = CheckCounters(c.counters); !s.ok()) return s;
            const Lot* lot = member->FindLot(LotId{c.credit, 0});
            if (lot == nullptr || lot->origin != Lot::Origin::kCredit) {
              return absl::NotFoundError(absl::StrCat("member ", id.value(), ": no credit ", c.credit));
            }
            Points reversible(lot->earned.value() - lot->reversed.value());
            if (c.amount > reversible) {
              return absl::FailedPreconditionError(
                  absl::StrCat("member ", id.value(), ": reversing ", c.amount.value(), " of credit ", c.credit,
                               " exceeds the ", reversible.value(), " points not yet reversed"));
            }
            const int32_t day = CreditDay(program, *member, c.credit);
            for (const CounterDelta& delta : c.counters) {
              if (CounterTotal(*member, delta.counter, {Date::FromDaysSinceEpoch(day), Date::FromDaysSinceEpoch(day)},
                               {}) < delta.amount.value()) {
                return absl::FailedPreconditionError(
                    absl::StrCat("member ", id.value(), ": counter ", delta.counter, " of credit ", c.credit,
                                 "'s day is below ", delta.amount.value()));
              }
            }
            Points from_lot = std::min(c.amount, lot->remaining);
            Points debt(c.amount.value() - from_lot.value());
            if (!Add(member->debt(), debt).ok()) return absl::OutOfRangeError("debt would overflow");
            entry.explanation = absl::StrCat("reversed ", c.amount.value(), " points of credit ", c.credit, ": ",
                                             from_lot.value(), " from its lot");
            if (!debt.IsZero()) {
              absl::StrAppend(&entry.explanation, ", ", debt.value(), " already spent become debt");
            }
            entry.body = entries::EarnReversed{c.credit, c.amount, from_lot, debt, c.counters, {}, day};
            return WithTierChange(program, *member,
                                  ReviewAfterReversal(program, *member, at, Pending(c.counters, day, true)), at,
                                  std::move(entry));
          },
          [&](const ReverseDebit& c) -> absl::StatusOr<std::vector<Entry>> {
            auto it = member->detail().debits.find(c.debit);
            if (it == member->detail().debits.end()) {
              return absl::NotFoundError(absl::StrCat("member ", id.value(), ": no debit ", c.debit));
            }
            if (it->second.reversed) {
              return absl::FailedPreconditionError(
                  absl::StrCat("member ", id.value(), ": debit ", c.debit, " is already reversed"));
            }
            entries::DebitReversed body{c.debit, it->second.amount, {}, Points(0)};
            body.draws = SettleDebt(it->second.draws, member->debt(), &body.debt_paid);
            entry.explanation = absl::StrCat("reversed debit ", c.debit, ": ", DrawText(body.draws),
                                             " restored with their original expiry", DebtText(body.debt_paid));
            entry.body = std::move(body);
            return std::vector<Entry>{std::move(entry)};
          },
          [&](const Adjust& c) -> absl::StatusOr<std::vector<Entry>> {
            if (c.delta.IsZero()) return Invalid("delta", "must not be zero");
            if (c.delta == Points(INT64_MIN)) return Invalid("delta", "out of range");
            if (absl::Status s = CheckText("reason", c.reason, true); !s.ok()) return s;
            if (absl::Status s = CheckText("actor", c.actor, true); !s.ok()) return s;
            entries::Adjusted body{c.delta, c.reason, c.actor, Instant::Max(), Points(0), {}};
            if (c.delta.IsNegative()) {
              auto draws = Draw(*member, id, Points(-c.delta.value()), at);
              if (!draws.ok()) return draws.status();
              body.draws = *std::move(draws);
            } else {
              if (absl::Status s = CheckRoom(*member, id, c.delta); !s.ok()) return s;
              body.expires_at = NewLotExpiry(program.InForceAt(at), *member, at);
              body.debt_paid = std::min(c.delta, member->debt());
            }
            entry.explanation = absl::StrCat("adjusted by ", c.delta.value(), " points by ", c.actor, ": ", c.reason);
            entry.body = std::move(body);
            return std::vector<Entry>{std::move(entry)};
          },
          [&](const Transfer& c) -> absl::StatusOr<std::vector<Entry>> {
            if (absl::Status s = CheckPositive("amount", c.amount); !s.ok()) return s;
            if (c.to == id) return Invalid("to", "must differ from the sending member");
            const MemberState* receiver = members(c.to);
            if (receiver == nullptr || !receiver->enrolled) {
              return absl::NotFoundError(absl::StrCat("member ", c.to.value(), " is not enrolled"));
            }
            if (absl::Status s = CheckEnrolledBy(*receiver, c.to, at); !s.ok()) return s;
            if (receiver->closed) {
              return absl::FailedPreconditionError(absl::StrCat("member ", c.to.value(), " is closed"));
            }
            if (absl::Status s = CheckRoom(*receiver, c.to, c.amount); !s.ok()) return s;
            auto draws = Draw(*member, id, c.amount, at);
            if (!draws.ok()) return draws.status();
            // The receiver's debt is settled first; the rest arrives as lots
            // with the dates they had.
            entries::TransferredIn in{id, c.amount, Points(0), {}};
            for (const LotDraw& draw : SettleDebt(*draws, receiver->debt(), &in.debt_paid)) {
              const Lot* lot = member->FindLot(draw.lot);
              in.lots.push_back({draw.amount, lot->earned_at, lot->expires_at});
            }
            Entry in_entry = Header(program, c.to, at, recorded_at, key, digest);
            in_entry.explanation = absl::StrCat("received ", c.amount.value(), " points from ", id.value());
            in_entry.body = std::move(in);
            entry.explanation = absl::StrCat("sent ", c.amount.value(), " points to ", c.to.value(), ": ",
                                             DrawText(*draws));
            entry.body = entries::TransferredOut{c.to, c.amount, *std::move(draws)};
            return std::vector<Entry>{std::move(entry), std::move(in_entry)};
          },
          [&](const Accrue& c) -> absl::StatusOr<std::vector<Entry>> {
            return DecideAccrual(program, *member, id, c, at, std::move(entry));
          },
          [&](const ReturnLines& c) -> absl::StatusOr<std::vector<Entry>> {
            auto accrual = member->detail().accruals.find(c.credit);
            if (accrual == member->detail().accruals.end()) {
              return absl::NotFoundError(absl::StrCat("member ", id.value(), ": no accrual ", c.credit));
            }
            const AccrualRecord& record = accrual->second;
            if (c.lines.empty()) return Invalid("lines", "name at least one line to return");
            std::vector<bool> returning = record.returned;
            int64_t amount = 0;
            for (size_t i = 0; i < c.lines.size(); ++i) {
              uint32_t line = c.lines[i];
              std::string field = absl::StrCat("lines[", i, "]");
              if (line >= record.line_points.size()) {
                return Invalid(field, absl::StrCat("accrual ", c.credit, " has ", record.line_points.size(), " lines"));
              }
              if (returning[line]) {
                return absl::FailedPreconditionError(absl::StrCat("member ", id.value(), ": line ", line,
                                                                  " of accrual ", c.credit, " is already returned"));
              }
              returning[line] = true;
              amount += record.line_points[line].value();
            }
            entries::EarnReversed body{c.credit, Points(0), Points(0), Points(0), {}, c.lines, record.local_day};
            bool last = std::all_of(returning.begin(), returning.end(), [](bool b) { return b; });
            if (last) {
              amount += record.unattributed.value();
              body.counters = record.counters;
            }
            body.amount = Points(amount);
            const Lot* lot = member->FindLot(LotId{c.credit, 0});
            if (lot != nullptr && amount > lot->earned.value() - lot->reversed.value()) {
              return absl::FailedPreconditionError(absl::StrCat(
                  "member ", id.value(), ": returning these lines reverses ", amount, " points, but only ",
                  lot->earned.value() - lot->reversed.value(), " of accrual ", c.credit, " are not yet reversed"));
            }
            body.from_lot = lot == nullptr ? Points(0) : std::min(body.amount, lot->remaining);
            body.debt_added = Points(amount - body.from_lot.value());
            entry.explanation = absl::StrCat("returned ", c.lines.size(), " line(s) of accrual ", c.credit, ": ", amount,
                                             " points earned on them reversed", last ? " with the activity's bonuses" : "");
            if (!body.debt_added.IsZero()) {
              absl::StrAppend(&entry.explanation, "; ", body.debt_added.value(), " already spent become debt");
            }
            auto review = ReviewAfterReversal(program, *member, at, Pending(body.counters, record.local_day, true));
            entry.body = std::move(body);
            return WithTierChange(program, *member, review, at, std::move(entry));
          },
          [&](const QuoteReward& c) -> absl::StatusOr<std::vector<Entry>> {
            if (c.ttl <= absl::ZeroDuration() || c.ttl > kMaxHoldTtl) {
              return Invalid("ttl", "must be positive and at most 366 days");
            }
            auto priced = ResolvePrice(program, *member, id, c.reward, 0, at);
            if (!priced.ok()) return priced.status();
            Instant expires_at = Instant::FromAbsl(at.ToAbsl() + c.ttl);
            entry.explanation = absl::StrCat("quoted ", priced->explanation, ", valid until ", expires_at.ToString());
            entry.body = entries::Quoted{priced->amount, expires_at, priced->price};
            return std::vector<Entry>{std::move(entry)};
          },
          [&](const RedeemReward& c) -> absl::StatusOr<std::vector<Entry>> {
            auto priced = ResolvePrice(program, *member, id, c.reward, c.quote, at);
            if (!priced.ok()) return priced.status();
            auto draws = DrawForPrice(program, *member, id, *priced, at);
            if (!draws.ok()) return draws.status();
            entry.explanation = absl::StrCat("redeemed ", priced->explanation, ": ", DrawText(*draws));
            entry.body = entries::Debited{priced->amount, *std::move(draws), priced->price, c.quote, std::nullopt};
            return std::vector<Entry>{std::move(entry)};
          },
          [&](const HoldReward& c) -> absl::StatusOr<std::vector<Entry>> {
            if (c.ttl <= absl::ZeroDuration() || c.ttl > kMaxHoldTtl) {
              return Invalid("ttl", "must be positive and at most 366 days");
            }
            auto priced = ResolvePrice(program, *member, id, c.reward, c.quote, at);
            if (!priced.ok()) return priced.status();
            auto draws = DrawForPrice(program, *member, id, *priced, at);
            if (!draws.ok()) return draws.status();
            Instant expires_at = Instant::FromAbsl(at.ToAbsl() + c.ttl);
            entry.explanation = absl::StrCat("hold for ", priced->explanation, " until ", expires_at.ToString(), ": ",
                                             DrawText(*draws));
            entry.body = entries::HoldPlaced{priced->amount, expires_at, *std::move(draws), priced->price, c.quote};
            return std::vector<Entry>{std::move(entry)};
          },
          [&](const SetMemberFlag& c) -> absl::StatusOr<std::vector<Entry>> {
            if (absl::Status s = CheckText("flag", c.flag, true); !s.ok()) return s;
            if (member->HasFlag(c.flag) == c.on) {
              return absl::FailedPreconditionError(
                  absl::StrCat("member ", id.value(), ": flag ", c.flag, c.on ? " is already set" : " is not set"));
            }
            const ProgramVersion& version = program.InForceAt(at);
            entries::FlagChanged body{c.flag, c.on, {}};
            bool was_protected = Protected(version, *member);
            std::vector<std::string> flags_after = member->detail().flags;
            if (c.on) {
              flags_after.insert(std::lower_bound(flags_after.begin(), flags_after.end(), c.flag), c.flag);
            } else {
              std::erase(flags_after, c.flag);
            }
            bool now_protected = Protected(version, flags_after, member->detail().status);
            body.renewals = ProtectionRenewals(version, *member, was_protected, now_protected, at);
            entry.explanation = absl::StrCat(c.on ? "set flag " : "cleared flag ", c.flag);
            if (!body.renewals.empty()) {
              absl::StrAppend(&entry.explanation, now_protected ? ": points no longer lapse (" : ": fresh term for (",
                              body.renewals.size(), " lots)");
            }
            entry.body = std::move(body);
            return std::vector<Entry>{std::move(entry)};
          },
          [&](const CloseMembership&) -> absl::StatusOr<std::vector<Entry>> {
            const ProgramVersion& version = program.InForceAt(at);
            Instant until = at;
            if (version.expiry.closure_grace_months > 0) {
              until = version.zone.StartOfDay(AddMonths(version.zone.LocalDate(at), version.expiry.closure_grace_months));
            }
            entry.explanation = absl::StrCat("membership closed; ", member->balance.value(),
                                             " points redeemable until ", until.ToString());
            entry.body = entries::MembershipClosed{until};
            return std::vector<Entry>{std::move(entry)};
          },
          [&](const GrantTier& c) -> absl::StatusOr<std::vector<Entry>> {
            const ProgramVersion& version = program.InForceAt(at);
            const Tier* tier = version.tiers.Find(c.tier);
            if (tier == nullptr) {
              return absl::NotFoundError(absl::StrCat("tier: ", c.tier.empty() ? "(empty)" : c.tier,
                                                      " is not on the ladder of version ", version.id));
            }
            if (tier->paid) return Invalid("tier", absl::StrCat(c.tier, " is a paid tier: subscribe to it"));
            if (absl::Status s = CheckText("reason", c.reason, true); !s.ok()) return s;
            if (absl::Status s = CheckText("actor", c.actor, true); !s.ok()) return s;
            const Date today = version.zone.LocalDate(at);
            Instant until = c.valid_until.value_or(StatusValidUntil(
                version.tiers, version.zone,
                QualificationPeriodOf(version.tiers, version.zone.LocalDate(member->enrolled_at), today), today));
            if (until <= at) return Invalid("valid_until", "must be after the grant's time");
            if (version.tiers.RankOf(member->detail().status.lifetime_tier) > version.tiers.RankOf(c.tier)) {
              return absl::FailedPreconditionError(absl::StrCat("member ", id.value(), " holds ",
                                                                member->detail().status.lifetime_tier, " for life, above ", c.tier));
            }
            TierDecision decision{c.tier, until, "manual", member->detail().status.lifetime_tier, Period{}, false,
                                  absl::StrCat("granted by ", c.actor, ": ", c.reason)};
            return std::vector<Entry>{TierEntry(program, *member, member->detail().status, decision, false, at, std::move(entry))};
          },
          [&](const SubscribeTier& c) -> absl::StatusOr<std::vector<Entry>> {
            const ProgramVersion& version = program.InForceAt(at);
            const Tier* tier = version.tiers.Find(c.tier);
            if (tier == nullptr || !tier->paid) {
              return Invalid("tier", absl::StrCat(c.tier.empty() ? "(empty)" : c.tier, " is not a paid tier of version ",
                                                  version.id));
            }
            if (c.paid_until <= at) return Invalid("paid_until", "must be after the subscription's time");
            if (absl::Status s = CheckBusinessTime("paid_until", c.paid_until); !s.ok()) return s;
            TierDecision decision{c.tier, c.paid_until, "paid", "", Period{}, false,
                                  absl::StrCat("subscribed until ", c.paid_until.ToString())};
            return std::vector<Entry>{TierEntry(program, *member, member->detail().status, decision, true, at, std::move(entry))};
          },
          [&](const CancelTierSubscription&) -> absl::StatusOr<std::vector<Entry>> {
            if (member->detail().status.paid_tier.empty()) {
              return absl::FailedPreconditionError(absl::StrCat("member ", id.value(), " has no paid tier"));
            }
            TierDecision decision{"", at, "cancelled", "", Period{}, false,
                                  absl::StrCat(member->detail().status.paid_tier, " cancelled")};
            return std::vector<Entry>{TierEntry(program, *member, member->detail().status, decision, true, at, std::move(entry))};
          },
          [&](const PayWithPointsAtTill& c) -> absl::StatusOr<std::vector<Entry>> {
            const ProgramVersion& version = program.InForceAt(at);
            if (!version.redemption.pay_with_points) {
              return absl::FailedPreconditionError(absl::StrCat("version ", version.id, " offers no paying with points"));
            }
            const PayWithPoints& terms = *version.redemption.pay_with_points;
            if (absl::Status s = CheckPositive("points", c.points); !s.ok()) return s;
            if (c.points < terms.minimum_points) {
              return Invalid("points", absl::StrCat(c.points.value(), " is below the minimum of ", terms.minimum_points.value()));
            }
            if (terms.step_points > Points(0) && c.points.value() % terms.step_points.value() != 0) {
              return Invalid("points", absl::StrCat(c.points.value(), " is not a multiple of ", terms.step_points.value()));
            }
            auto value = ToMoney(c.points, terms.value_per_point, version.currency, Rounding::kDown);
            if (!value.ok()) return value.status();
            auto draws = Draw(*member, id, c.points, at);
            if (!draws.ok()) return draws.status();
            entry.explanation = absl::StrCat("paid ", value->ToString(), " with ", c.points.value(), " points at ",
                                             terms.value_per_point.ToString(), " ", version.currency.code(),
                                             " per point under ", version.id, ": ", DrawText(*draws));
            entry.body = entries::Debited{c.points, *std::move(draws),
                                          RewardPrice{"pay_with_points", version.id, "", Points(0), Points(0), std::nullopt, "", Points(0)}, 0,
                                          *value};
            return std::vector<Entry>{std::move(entry)};
          },
      },
      command);
  if (decided.ok()) {
    LOYALTY_CHECK(!decided->empty());
    decided->front().command = std::move(record);
  }
  return decided;
}

std::vector<Entry> DecideTierReview(const Program& program, const MemberId& member_id, const MemberState& member,
                                    Instant as_of, const std::string& key, const CommandDigest& digest,
                                    Instant recorded_at) {
  std::vector<Entry> out;
  if (!member.enrolled || member.closed || member.enrolled_at > as_of) return out;
  TierStatus status = member.detail().status;
  if (auto decision = ReviewStatus(program, member, as_of)) {
    out.push_back(TierEntry(program, member, status, *decision, false, as_of,
                            Header(program, member_id, as_of, recorded_at, key, digest)));
    status = StatusAfter(status, *decision);
  }
  if (!status.paid_tier.empty() && status.paid_until <= as_of) {
    TierDecision lapse{"", status.paid_until, "expired", "", Period{}, false,
                       absl::StrCat(status.paid_tier, " not renewed; paid until ", status.paid_until.ToString())};
    out.push_back(
        TierEntry(program, member, status, lapse, true, as_of, Header(program, member_id, as_of, recorded_at, key, digest)));
  }
  return out;
}

std::vector<Entry> DecideExpiry(const Program& program, const MemberId& member_id,
                                const MemberState& member, Instant as_of, const std::string& key,
                                const CommandDigest& digest, Instant recorded_at) {
  std::vector<Entry> out;
  if (!member.enrolled || member.enrolled_at > as_of) return out;
  // Lapsed holds first: their points go back to their lots, which may
  // themselves be due to expire below.
  absl::flat_hash_map<LotId, int64_t> returned;
  std::vector<std::pair<uint64_t, const Hold*>> lapsed;
  for (const auto& [hold_id, hold] : member.detail().holds) {
    if (hold.expires_at <= as_of) lapsed.emplace_back(hold_id, &hold);
  }
  std::sort(lapsed.begin(), lapsed.end());
  Points debt = member.debt();
  for (const auto& [hold_id, hold] : lapsed) {
    Entry entry = Header(program, member_id, as_of, recorded_at, key, digest);
    entries::HoldReleased body{hold_id, true, hold->amount, {}, Points(0)};
    body.draws = SettleDebt(hold->draws, debt, &body.debt_paid);
    debt = Points(debt.value() - body.debt_paid.value());
    entry.explanation = absl::StrCat("hold ", hold_id, " lapsed at ", hold->expires_at.ToString(), ": ",
                                     hold->amount.value(), " points back to their lots", DebtText(body.debt_paid));
    for (const LotDraw& draw : body.draws) returned[draw.lot] += draw.amount.value();
    entry.body = std::move(body);
    out.push_back(std::move(entry));
  }
  // Every lot lapses when a closed membership's grace has ended, or after
  // too long without activity, unless a flag protects the member.
  const ProgramVersion& version = program.InForceAt(as_of);
  std::string whole;
  if (member.closed && as_of >= member.detail().redeemable_until) {
    whole = absl::StrCat("membership closed, redeemable until ", member.detail().redeemable_until.ToString());
  } else if (internal::LapsesForInactivity(version, member, as_of)) {
    whole = absl::StrCat("no activity since ", version.zone.LocalDate(member.last_activity).ToString(), " (",
                         version.expiry.inactivity_months, " months allowed)");
  }
  entries::Expired expired;
  int64_t total = 0;
  for (const Lot& lot : member.lots) {
    if (whole.empty() && lot.expires_at > as_of) continue;
    auto it = returned.find(lot.id);
    int64_t amount = lot.remaining.value() + (it == returned.end() ? 0 : it->second);
    if (amount == 0) continue;
    expired.draws.push_back({lot.id, Points(amount)});
    total += amount;
  }
  if (total > 0) {
    expired.amount = Points(total);
    Entry entry = Header(program, member_id, as_of, recorded_at, key, digest);
    entry.explanation = absl::StrCat("expired ", total, " points as of ", as_of.ToString(),
                                     whole.empty() ? "" : " (" + whole + ")", ": ", DrawText(expired.draws));
    entry.body = std::move(expired);
    out.push_back(std::move(entry));
  }
  return out;
}

}  // namespace loyalty
