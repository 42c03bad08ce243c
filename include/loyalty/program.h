// The program: an ordered history of immutable rule-set versions, and the
// activities that its accrual rules evaluate.
//
// Each version says how points are earned (accrual rules), what they buy
// (rewards: award chart, catalog, pay-with-points), how long they last
// (expiry), and what it promises members of the version before it
// (grandfathering). Exactly one version is in force at any instant: the one
// with the latest effective_from at or before it.
//
//   auto program = Program::Create("mm-2010", "Europe/Berlin",
//                                  ExpiryTerm{36, ExpiryTerm::Round::kEndOfQuarter});
//   Instant lapses = program->LotExpiry(earned_at);
//
//   auto history = Program::FromVersions({v2010, v2011});   // v2011 effective 2011-01-03
//   const ProgramVersion& v = history->InForceAt(at);
//
// Full versions are usually loaded from JSON (loyalty/io.h), which also
// computes their content hash. Thread safety: immutable after creation.
#ifndef LOYALTY_PROGRAM_H_
#define LOYALTY_PROGRAM_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "loyalty/time.h"
#include "loyalty/value.h"

namespace loyalty {

// ---------------------------------------------------------------- activities

struct PurchaseLine {
  std::string sku;
  std::string category{};
  std::vector<std::string> tags{};
  int64_t quantity = 1;
  Money unit_price{0, *Currency::FromCode("EUR")};
};

struct Purchase {
  std::string partner;
  std::string store;
  std::string channel;  // "store", "online", ...
  std::vector<PurchaseLine> lines;
};

struct FlightSegment {
  std::string carrier;
  std::string flight_number;
  std::string origin;       // IATA airport code
  std::string destination;  // IATA airport code
  int64_t distance_miles = 0;
  std::string cabin;          // "economy", "premium_economy", "business", "first"
  std::string booking_class;  // fare letter, "J", "C", "Y", ...
  std::optional<Money> ticket_price;
};

// Anything else the host application reports: credit-card spend, a survey,
// a referral. `amount` is the money the rule's per-money effect reads.
struct CustomActivity {
  std::string type;
  std::map<std::string, std::string> attributes;
  std::optional<Money> amount;
};

struct Activity {
  std::string id;  // the host's reference (basket id, ticket number)
  std::variant<Purchase, FlightSegment, CustomActivity> detail;
};

// "purchase", "flight" or "custom".
absl::string_view ActivityTypeName(const Activity& activity);

// A change of a qualifying counter (status miles, segments, qualifying spend).
struct CounterDelta {
  std::string counter;
  Points amount;
  friend bool operator==(const CounterDelta&, const CounterDelta&) = default;
};

// ---------------------------------------------------------------- accrual

// When a rule applies. Empty lists mean "any"; every set condition must hold.
struct AccrualCondition {
  std::vector<std::string> activity_types;  // "purchase", "flight", "custom"
  std::vector<std::string> custom_types;    // CustomActivity::type
  std::vector<std::string> partners;
  std::vector<std::string> channels;
  std::vector<std::string> stores;
  // Purchase lines: a line is eligible if it matches every include list that
  // is set and no exclude list.
  std::vector<std::string> include_categories, exclude_categories;
  std::vector<std::string> include_skus, exclude_skus;
  std::vector<std::string> include_tags, exclude_tags;
  // Flights.
  std::vector<std::string> cabins;
  std::vector<std::string> booking_classes;
  std::vector<std::string> origins;       // airport codes
  std::vector<std::string> destinations;  // airport codes
  std::vector<std::string> member_tiers;  // the member's tier at the activity
  std::optional<Date> from_date;          // campaign window, local dates, inclusive
  std::optional<Date> until_date;
  std::vector<int> days_of_week;  // 0 = Sunday .. 6 = Saturday, local
  std::optional<Money> min_eligible_amount;
  bool first_activity_only = false;  // the member's first accrual (welcome bonus)
};

struct AccrualEffect {
  enum class Kind {
    kPerMoney,        // rate x eligible amount (in major units)
    kPerDistance,     // distance x percentage for the booking class, at least `minimum`
    kPerTicketPrice,  // rate (by member tier if listed) x ticket price
    kFixed,           // `fixed` points
    kMultiplier,      // rate x the points of the rules in `base_rules` (tier bonus 0.25, 10x = 9)
    kPerUnit,         // `per_unit` points x the units (quantities) of the eligible purchase lines
  };
  Kind kind = Kind::kFixed;
  Rate rate = *Rate::Parse("0");
  Rounding rounding = Rounding::kDown;
  std::map<std::string, Rate> booking_class_rates;  // per distance: "J" -> 1.5 (150 %)
  std::map<std::string, Rate> tier_rates;           // per ticket price: tier -> rate
  Points minimum;                                   // per distance: minimum per segment
  Points fixed;
  Points per_unit;  // per unit: points per unit of an eligible purchase line
  std::vector<std::string> base_rules;  // multiplier: rule ids whose points it multiplies
  // multiplier: the rate is the earn bonus of the member's tier (the rule
  // does not apply to members whose tier has none) instead of `rate`.
  bool tier_bonus = false;
  std::string balance;  // the redeemable balance or a qualifying counter; empty: the redeemable one
};

// Limits on what a rule grants. When a cap bites, the result records the
// desired and the granted amounts.
struct AccrualCap {
  std::optional<Points> per_activity;
  std::optional<Points> per_member_day;    // local day
  std::optional<Points> per_member_month;  // local calendar month
  std::optional<Points> per_campaign;      // per member, over the rule's window
  std::optional<int64_t> max_uses;         // per member
  // The campaign budget: what the rule may grant across all members, over
  // its window (what every version's rule of this id granted counts).
  // Returns give no budget back.
  std::optional<Points> budget;
};

struct AccrualRule {
  std::string id;
  std::string description{};
  int priority = 0;             // lower runs first
  std::string exclusive_group{};  // of the rules that apply in a group, only the best counts
  AccrualCondition when{};
  AccrualEffect effect{};
  AccrualCap cap{};
};

// ---------------------------------------------------------------- rewards

// One row of an award chart: a flight reward between two regions.
struct AwardChartRow {
  std::string from_region;
  std::string to_region;
  std::string cabin;
  bool round_trip = true;
  Points price;
};

// A catalog reward: `price` points, plus `cash` to pay in money for a cash
// + points reward.
struct CatalogItem {
  std::string id;
  std::string name;
  Points price;
  std::optional<Money> cash;
  std::string partner{};  // the coalition partner where it is redeemed; "" for the operator's own
};

// Paying at the till: each point is worth `value_per_point` (0.01 EUR),
// in payments of at least `minimum_points`, in steps of `step_points`.
struct PayWithPoints {
  Rate value_per_point = *Rate::Parse("0");
  Points minimum_points;
  Points step_points{1};
};

struct Redemption {
  std::map<std::string, std::string> airport_regions;  // "FRA" -> "EU"
  std::vector<AwardChartRow> award_chart;
  std::vector<CatalogItem> catalog;
  std::optional<PayWithPoints> pay_with_points;
};

// The id of an award-chart reward: "award:EU-NA:business:round_trip".
std::string AwardRewardId(const AwardChartRow& row);

// ---------------------------------------------------------------- expiry

// How long a credited lot stays redeemable: `months` after the civil date it
// was earned, then moved to the end of that month, quarter or year, or to
// the next fixed day (30 September). Points lapse at the start of the next
// day in the program's zone. months == 0 means the points never expire.
struct ExpiryTerm {
  enum class Round { kNone, kEndOfMonth, kEndOfQuarter, kEndOfYear, kFixedDay };
  int months = 0;
  Round round = Round::kNone;
  int fixed_month = 0;  // kFixedDay: 1..12
  int fixed_day = 0;    // kFixedDay: 1..28 or a day every year has
  // Every point lapses after this many months without an accrual (counted
  // from enrolment before the first); 0 = no inactivity rule.
  int inactivity_months = 0;
  // Member flags (a co-brand card) under which points do not lapse: lots
  // held or earned while one is set never expire, and get a fresh term from
  // the day the last such flag is cleared.
  std::vector<std::string> protected_by_flags{};
  // After a membership is closed, its points stay redeemable for this many
  // months, then lapse (German courts voided immediate forfeiture).
  int closure_grace_months = 0;
};

// ---------------------------------------------------------------- grandfathering

// What a version promises members relative to the version before it.
struct Grandfathering {
  // Quotes and holds made before effective_from keep their price until
  // captured or lapsed.
  bool price_lock = false;
  // Awards booked before this instant are priced on the previous version
  // (American, 2016).
  std::optional<Instant> book_by{};
  // Points from lots earned before `earned_before` may be spent at the
  // previous version's prices until `spend_until` (what LG Koeln ordered for
  // miles credited before the 2011 change): the share of an award paid with
  // them is priced on the old chart, the rest on the new.
  std::optional<Instant> earned_before{};
  std::optional<Instant> spend_until{};
};

// ---------------------------------------------------------------- tiers

// One way to qualify for a tier: every listed qualifying counter at or
// above its minimum ("status_miles >= 100,000" or "points >= 2,000 and
// qualifying_points >= 1,000").
struct TierRequirement {
  std::map<std::string, Points> minimums;  // counter -> at least
};

// A tier's qualification: any one of the requirements, over the sum of
// `periods` consecutive qualification periods ending with the one evaluated
// (HON Circle: 600,000 status miles over two calendar years). No
// requirements: the tier is not earned on counters.
struct TierQualification {
  std::vector<TierRequirement> any_of;
  int periods = 1;
};

// What a tier gives its members.
struct TierBenefits {
  // The rate of accrual rules of kind kMultiplier whose rate is the tier
  // bonus (0.25 = 25 % more on the base rules' points); none if unset.
  std::optional<Rate> earn_bonus;
  bool protects_from_expiry = false;  // lots do not lapse while the member holds the tier
  // The share of a reward's points price waived (0.10), rounded down in
  // the member's favour; 0 = none.
  Rate redemption_discount = *Rate::Parse("0");
  std::vector<std::string> named;  // "lounge", "priority_line": queried by the host
};

struct Tier {
  std::string id;
  std::string name{};
  TierQualification qualification{};
  // Cumulative counters over the whole membership that make the tier the
  // member's for life: never downgraded below it.
  std::optional<TierQualification> lifetime{};
  bool invitation_only = false;  // granted only by a manual command, with a reason
  bool paid = false;             // a subscription: granted for the period paid for
  TierBenefits benefits{};
};

// A status ladder and its rules.
struct TierLadder {
  enum class Period { kCalendarYear, kMembershipYear, kRolling12Months };
  // What happens when a status's validity ends and the member has not
  // earned it again: one tier down with another year of validity (soft
  // landing), straight to the tier earned in the last closed period, or
  // `grace_months` more of the same tier once, then to the tier earned.
  enum class Downgrade { kOneTier, kToEarned, kGrace };
  // When a reversal lowers the counters a status was earned on below its
  // threshold: keep the status (recorded as "kept") or revoke it.
  enum class OnReversal { kKeep, kRevoke };

  std::vector<Tier> tiers;  // lowest first; empty: the version has no status ladder
  Period period = Period::kCalendarYear;
  // Validity of a status earned in a period: through the end of the month
  // `months_after_period` months after the period's last day (Miles & More:
  // 14, through the end of February of the year after next), or, if that is
  // 0, `validity_months` months from the day it was earned.
  int months_after_period = 0;
  int validity_months = 0;
  Downgrade downgrade = Downgrade::kToEarned;
  int grace_months = 0;
  OnReversal on_reversal = OnReversal::kKeep;
  // A version that changes thresholds applies them from the next
  // qualification period that starts after it takes effect, unless this is set.
  bool thresholds_apply_immediately = false;

  // The position of `tier` in the ladder, or -1 for "" and unknown ids.
  int RankOf(absl::string_view tier) const;
  // The tier with this id, or nullptr.
  const Tier* Find(absl::string_view tier) const;
};

// OK if `tier` is the id of a tier of `ladder`; otherwise InvalidArgument
// naming it and listing the ladder's ids, lowest first, e.g.
//   unknown tier "frequent_traveler"; the version's tiers are: basic, frequent_traveller, senator
//   unknown tier "gold"; the version declares no tiers
// The message has no path: Program::FromVersions and the JSON loader put
// the field's path before it.
absl::Status CheckTierName(const TierLadder& ladder, absl::string_view tier);

// ---------------------------------------------------------------- partners

// A coalition partner (a shop, an airline, a fuel station) where members
// earn and redeem. The partner funds the points issued at it: it owes the
// operator `funding_per_point` (major units of the version's currency,
// "0.01" = EUR 0.01) for each point; the operator reimburses it
// `reimbursement_per_point` for each point redeemed at it. Settlement
// (loyalty/audit.h) applies the rates of the version that decided each entry.
struct Partner {
  std::string id;
  std::string name;
  Rate funding_per_point = *Rate::Parse("0");
  Rate reimbursement_per_point = *Rate::Parse("0");
};

// ---------------------------------------------------------------- accounting

// The general-ledger accounts a revenue export posts to (names only; the
// chart of accounts is the user's).
struct LedgerAccounts {
  std::string contract_liability = "Contract liability - loyalty points";
  std::string sales_revenue = "Revenue - sales";              // a sale's price allocated to its points
  std::string funding_receivable = "Receivable - points sold";  // partners' and named sources' funding
  std::string redemption_revenue = "Revenue - points redeemed";
  std::string breakage_revenue = "Revenue - breakage";
  std::string estimate_change = "Revenue - change in estimate";
};

// How points are accounted for as revenue (IFRS 15 / ASC 606): a separate
// performance obligation, allocated part of a sale's price at issuance and
// recognised as points are redeemed (loyalty/audit/revenue.h). The user
// decides these estimates; the library only applies them.
struct Accounting {
  // The stand-alone selling price of a point that is redeemed, in major
  // units of the version's currency.
  Rate standalone_value_per_point = *Rate::Parse("0");
  // The share of the points issued that is expected to be redeemed, in
  // (0, 1]; per earning cohort (calendar year in the version's zone) where
  // `cohort_redemption_rates` names one.
  Rate expected_redemption_rate = *Rate::Parse("1");
  std::map<int, Rate> cohort_redemption_rates;
  // Points sold rather than given with a sale, by Credit::source or by the
  // type of an accrued custom activity (a co-brand card's spend): the
  // amount deferred per point (what the buyer of the points paid; "0" for
  // goodwill). A raw credit whose source is not named here, and an accrual
  // whose activity carries no price, defer nothing. Credits at a coalition
  // partner defer its funding_per_point.
  std::map<std::string, Rate, std::less<>> credit_sources;
  LedgerAccounts accounts;

  // The expected redemption rate of points earned in `cohort`.
  const Rate& RedemptionRateOf(int cohort) const {
    auto it = cohort_redemption_rates.find(cohort);
    return it == cohort_redemption_rates.end() ? expected_redemption_rate : it->second;
  }
};

// ---------------------------------------------------------------- versions

// ------------------------------------------------------------ stamp cards

// A stamp card ("every 10th coffee free"): a purchase collects one stamp
// per unit of its lines that `when` makes eligible (an accrual rule's
// condition). Stamps are a counter per member and card, never spendable.
// When a card holds `stamps` stamps it is full: it issues a voucher for the
// catalog reward `reward`, valid for `voucher_days` local days from the day
// of issue, and a new card starts with the stamps over the size.
struct StampCard {
  std::string id;
  std::string description{};
  AccrualCondition when{};
  int64_t stamps = 0;  // the card's size, at least 1
  std::string reward;  // a catalog item of the same version
  int32_t voucher_days = 0;
};

// ---------------------------------------------------------- buying points

// Points a member may buy for money ("1,000 points for EUR 25"): at
// `price_per_point` (major units of the version's currency; a purchase's
// price is rounded half up to the minor unit), at least `minimum` points,
// a multiple of `step`, and at most `yearly_limit` points bought by a
// member per calendar year (the version's zone; refunds give the room
// back; none: no limit).
struct PointSales {
  Rate price_per_point = *Rate::Parse("0");
  Points minimum{1};
  Points step{1};
  std::optional<Points> yearly_limit{};

  // The price of `points` (0 or more) in `currency`: points x
  // price_per_point, rounded half up to the minor unit; OutOfRange naming
  // "points" if it does not fit.
  absl::StatusOr<Money> PriceOf(Points points, const Currency& currency) const;
};

// Points members send each other (Transfer, SendTransfer): whether the
// version allows it, the least one transfer sends, the most a member may
// send in a calendar year (the version's zone; every transfer sent counts,
// also one returned; none: no limit), and the fee in points the sender pays
// on each transfer besides the amount (a debit after the transfer, drawn
// from the lots that follow the transfer's in spending order).
struct TransferRules {
  bool allowed = true;
  Points minimum{1};
  std::optional<Points> yearly_limit{};
  Points fee{};
};

// At most this many vouchers one activity may issue.
inline constexpr int64_t kMaxVouchersPerActivity = 1000;

struct ProgramVersion {
  std::string id;
  std::string name;
  Currency currency = *Currency::FromCode("EUR");
  TimeZone zone = TimeZone::Utc();
  Instant announced_at = Instant::Min();
  Instant effective_from = Instant::Min();
  std::string redeemable_balance = "points";
  std::vector<std::string> counters;  // qualifying counters, never spendable
  std::vector<AccrualRule> accrual;
  Redemption redemption;
  ExpiryTerm expiry;
  Grandfathering grandfathering;
  TierLadder tiers;
  // Coalition partners. When the list is not empty, every partner a rule,
  // reward, command or purchase names must be in it.
  std::vector<Partner> partners;
  // Revenue accounting; none: the version's points are not accounted for
  // as revenue (the revenue report refuses a program without any).
  std::optional<Accounting> accounting;
  std::vector<StampCard> stamp_cards;
  std::optional<PointSales> point_sales;  // none: points are not sold
  std::optional<TransferRules> transfers;  // none: allowed, from 1 point, no limit, no fee
  Sha256 content_hash{};  // of the canonical definition; set by the loader

  // The instant at which points earned at `earned_at` under this version
  // lapse, or Instant::Max() if they never do.
  Instant LotExpiry(Instant earned_at) const;
  // The price of a reward id (catalog item or award), or NotFound.
  absl::StatusOr<Points> PriceOf(absl::string_view reward) const;
  // The money a cash + points reward also costs; nullopt for points only.
  std::optional<Money> CashOf(absl::string_view reward) const;
  // The partner with this id, or nullptr.
  const Partner* FindPartner(absl::string_view partner) const {
    for (const Partner& p : partners) {
      if (p.id == partner) return &p;
    }
    return nullptr;
  }
};

// How a reward was priced; stated on every quote, hold and redemption of a
// reward (empty `reward` for raw points).
struct RewardPrice {
  std::string reward;
  std::string version;         // the version whose price applied
  std::string grandfathering;  // "", "price_lock", "book_by" or "earned_before"
  Points old_points;           // earned_before: paid from protected lots, old price
  Points new_points;           // earned_before: paid from the other lots, new price
  std::optional<Money> cash{};  // cash + points: the money due besides the points
  std::string tier{};          // the member's tier, when its redemption discount applied
  Points discount{};           // points waived by that discount (already taken off)
  friend bool operator==(const RewardPrice&, const RewardPrice&) = default;
};

class Program {
 public:
  // A one-version program in force since always. InvalidArgument if the
  // version id is empty or longer than 64 characters, the zone is unknown,
  // or months is outside 0..1200.
  static absl::StatusOr<Program> Create(absl::string_view version_id, absl::string_view time_zone,
                                        ExpiryTerm expiry);

  // A history of versions. InvalidArgument, naming the version, unless:
  // ids are unique and 1 to 64 characters; effective_from strictly
  // increases; each announced_at <= effective_from; every version uses the
  // same time zone and currency; each version's accrual rules pass
  // CheckAccrualRules (loyalty/accrual.h), whose message follows the
  // version's name: "versions[0] (v1): accrual[2] (rule \"x\").effect.fixed: ...";
  // each version's ladder has non-empty, unique tier ids, and every field
  // that names a tier (an accrual rule's when.member_tiers and
  // effect.tier_rates) names one of the same version's ladder, checked
  // with CheckTierName: "versions[0] (v1): accrual[2] (rule \"x\")
  // .when.member_tiers[1]: unknown tier \"gold\"; the version's tiers are: ...".
  static absl::StatusOr<Program> FromVersions(std::vector<ProgramVersion> versions);

  // The version in force at `at`; the first version for instants before it.
  const ProgramVersion& InForceAt(Instant at) const;
  // The version a period [.., end) ends under: the one in force at the last
  // instant before `end`.
  const ProgramVersion& InForceJustBefore(Instant end) const {
    return InForceAt(end == Instant::Min() ? end : Instant::FromUnixMicros(end.unix_micros() - 1));
  }
  // The version with this id, or nullptr.
  const ProgramVersion* Find(absl::string_view version_id) const;
  // The version before `version` in the history, or nullptr.
  const ProgramVersion* Previous(const ProgramVersion& version) const;
  const std::vector<std::shared_ptr<const ProgramVersion>>& versions() const { return versions_; }

  // The id of the newest version.
  const std::string& version_id() const { return versions_.back()->id; }
  const TimeZone& zone() const { return versions_.front()->zone; }
  // Lot expiry under the version in force at `earned_at`.
  Instant LotExpiry(Instant earned_at) const { return InForceAt(earned_at).LotExpiry(earned_at); }

 private:
  explicit Program(std::vector<std::shared_ptr<const ProgramVersion>> versions)
      : versions_(std::move(versions)) {}
  std::vector<std::shared_ptr<const ProgramVersion>> versions_;
};

}  // namespace loyalty

#endif  // LOYALTY_PROGRAM_H_
