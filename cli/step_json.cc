// The JSON forms of step outcomes (step_json.h).
#include "step_json.h"

#include <algorithm>
#include <type_traits>
#include <utility>
#include <variant>

#include "absl/strings/str_cat.h"

namespace loyalty::cli {
namespace {

Json InstantOrNull(Instant at) { return at == Instant::Max() ? Json(nullptr) : Json(at.ToString()); }
Json TextOrNull(const std::string& text) { return text.empty() ? Json(nullptr) : Json(text); }

// What `entry` created that a later step can name (docs/scenario-format.md:
// a step name refers to the credit, debit, hold or quote it wrote), or null.
Json CreatedJson(const Entry& entry) {
  Json out{{"kind", nullptr}, {"entry", entry.seq},    {"points", 0},         {"expires_at", nullptr},
           {"reward", nullptr}, {"version", entry.version}, {"value", nullptr}};
  std::visit(
      [&](const auto& body) {
        using T = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<T, entries::Credited>) {
          out["kind"] = "credit";
          out["expires_at"] = InstantOrNull(body.expires_at);
          if (body.price) out["value"] = ToJson(*body.price);
        } else if constexpr (std::is_same_v<T, entries::Debited>) {
          out["kind"] = "debit";
          out["reward"] = TextOrNull(body.price.reward);
          if (body.value) out["value"] = ToJson(*body.value);
        } else if constexpr (std::is_same_v<T, entries::HoldCaptured>) {
          out["kind"] = "debit";
          out["reward"] = TextOrNull(body.price.reward);
        } else if constexpr (std::is_same_v<T, entries::HoldPlaced> || std::is_same_v<T, entries::Quoted>) {
          out["kind"] = std::is_same_v<T, entries::Quoted> ? "quote" : "hold";
          out["expires_at"] = InstantOrNull(body.expires_at);
          out["reward"] = TextOrNull(body.price.reward);
        }
        if constexpr (requires { body.amount; }) out["points"] = body.amount.value();
      },
      entry.body);
  return out["kind"].is_null() ? Json(nullptr) : out;
}

// The status change an entry records, or null.
Json TierChangeJson(const Entry& entry) {
  const auto* changed = std::get_if<entries::TierChanged>(&entry.body);
  if (changed == nullptr) return nullptr;
  return Json{{"member", entry.member.value()},        {"entry", entry.seq},
              {"tier", TextOrNull(changed->tier)},     {"reason", changed->reason},
              {"valid_until", InstantOrNull(changed->valid_until)}, {"paid", changed->paid}};
}

// Adds `delta` of entry `seq` to the changes in `out` ({"entries",
// "points", "held", "debt"}). OutOfRange if a sum does not fit in 64 bits.
absl::Status AddChange(Json& out, uint64_t seq, const BalanceDelta& delta) {
  out["entries"].push_back(seq);
  for (auto [key, change] : {std::pair{"points", delta.available}, std::pair{"held", delta.held},
                             std::pair{"debt", delta.debt}}) {
    auto sum = Add(Points(out[key].get<int64_t>()), change);
    if (!sum.ok()) {
      return absl::OutOfRangeError(absl::StrCat("the ", key, " changed by entry ", seq, " and the step's entries "
                                                "before it add up to more than 64 bits hold"));
    }
    out[key] = sum->value();
  }
  return absl::OkStatus();
}

Json NoChange() { return Json{{"entries", Json::array()}, {"points", 0}, {"held", 0}, {"debt", 0}}; }

}  // namespace

absl::StatusOr<Json> DoneJson(const Receipt& receipt) {
  Json total = NoChange();
  Json created = nullptr;
  Json members = Json::array();
  Json tier_changes = Json::array();
  for (const Entry& entry : receipt.entries) {
    const BalanceDelta delta = DeltaOf(entry.body);
    if (absl::Status added = AddChange(total, entry.seq, delta); !added.ok()) return added;
    if (created.is_null()) created = CreatedJson(entry);
    auto member = std::find_if(members.begin(), members.end(),
                               [&](const Json& m) { return m["member"] == entry.member.value(); });
    if (member == members.end()) {
      Json first{{"member", entry.member.value()}};
      first.update(NoChange());
      members.push_back(std::move(first));
      member = members.end() - 1;
    }
    if (absl::Status added = AddChange(*member, entry.seq, delta); !added.ok()) return added;
    if (Json change = TierChangeJson(entry); !change.is_null()) tier_changes.push_back(std::move(change));
  }
  Json out{{"status", "done"}, {"replayed", receipt.replayed}};
  out.update(total);
  out["created"] = std::move(created);
  out["members"] = std::move(members);
  out["tier_changes"] = std::move(tier_changes);
  return out;
}

Json RefusalJson(const absl::Status& status) {
  return Json{{"status", "refused"},
              {"refusal", Json{{"code", absl::StatusCodeToString(status.code())}, {"message", std::string(status.message())}}}};
}

Json PublishedJson(const std::string& version) { return Json{{"status", "published"}, {"version", version}}; }

Json RevisedJson(const Receipt& receipt, const entries::EstimateRevised& revised) {
  return Json{{"status", "revised"},
              {"replayed", receipt.replayed},
              {"entry", receipt.seq()},
              {"cohort", revised.cohort == 0 ? std::string("all") : std::to_string(revised.cohort)},
              {"expected_redemption_rate", revised.expected_redemption_rate.ToString()},
              {"actor", revised.actor}};
}

Json SettledJson(const std::vector<PartnerSettlement>& rows) {
  Json partners = Json::array();
  for (const PartnerSettlement& row : rows) partners.push_back(ToJson(row));
  return Json{{"status", "settled"}, {"partners", std::move(partners)}};
}

}  // namespace loyalty::cli
