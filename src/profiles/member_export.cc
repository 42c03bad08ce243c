// Everything held on one member as JSON (GDPR Art. 15 access, Art. 20
// portability): the profile from the ProfileStore, the engine's projection
// (balance, tier, open lots) and the member's journal entries with their
// explanations and running balance (the audit's statement).
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "loyalty/audit/statement.h"
#include "loyalty/profiles.h"

namespace loyalty {

namespace {

using Json = nlohmann::ordered_json;

Json ProfileJson(const Profile& profile) {
  Json attributes = Json::object();
  for (const auto& [key, value] : profile.attributes) attributes[key] = value;
  return Json{{"name", profile.name},
              {"email", profile.email},
              {"birthday", profile.birthday ? Json(profile.birthday->ToString()) : Json(nullptr)},
              {"attributes", std::move(attributes)}};
}

}  // namespace

absl::StatusOr<std::string> ExportMemberData(const Engine& engine, const ProfileStore& profiles,
                                             const MemberId& member, Instant now) {
  Json document = Json::object();
  document["member"] = member.value();
  document["exported_at"] = now.ToString();
  auto profile = profiles.Get(member);
  if (!profile.ok() && !absl::IsNotFound(profile.status())) return profile.status();
  document["profile"] = profile.ok() ? ProfileJson(*profile) : Json(nullptr);

  auto balance = engine.BalanceOf(member);
  if (!balance.ok()) {
    if (!absl::IsNotFound(balance.status())) return balance.status();
    if (!profile.ok()) {
      return absl::NotFoundError(absl::StrCat("member: ", member.value(), " is neither enrolled nor has a profile"));
    }
    document["balance"] = nullptr;
    document["tier"] = nullptr;
    document["lots"] = Json::array();
    document["entries"] = Json::array();
    return document.dump(2);
  }
  document["balance"] = Json{{"available", balance->available.value()},
                             {"held", balance->held.value()},
                             {"debt", balance->debt.value()}};
  auto tier = engine.TierOf(member, now);
  if (!tier.ok()) return tier.status();
  document["tier"] = Json{{"tier", tier->tier},
                          {"name", tier->name},
                          {"valid_until", tier->tier.empty() || tier->valid_until == Instant::Max()
                                              ? Json(nullptr)
                                              : Json(tier->valid_until.ToString())}};
  auto lots = engine.OpenLots(member);
  if (!lots.ok()) return lots.status();
  Json lot_array = Json::array();
  for (const Lot& lot : *lots) {
    lot_array.push_back(Json{{"earned_at", lot.earned_at.ToString()},
                             {"expires_at", lot.expires_at == Instant::Max() ? Json(nullptr)
                                                                             : Json(lot.expires_at.ToString())},
                             {"earned", lot.earned.value()},
                             {"remaining", lot.remaining.value()},
                             {"version", *lot.version}});
  }
  document["lots"] = std::move(lot_array);
  auto statement = StatementOf(engine.store(), member, Instant::Min(), Instant::Max());
  if (!statement.ok()) return statement.status();
  Json entries = Json::array();
  for (const StatementLine& line : statement->lines) {
    entries.push_back(Json{{"seq", line.seq},
                           {"business_time", line.business_time.ToString()},
                           {"kind", line.kind},
                           {"version", line.version},
                           {"explanation", line.explanation},
                           {"available", line.balance.available.value()},
                           {"held", line.balance.held.value()},
                           {"debt", line.balance.debt.value()}});
  }
  document["entries"] = std::move(entries);
  // Journal text (sources, explanations) is whatever the host wrote; never
  // let a stray byte there make the export fail.
  return document.dump(2, ' ', false, Json::error_handler_t::replace);
}

}  // namespace loyalty
