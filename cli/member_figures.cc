// FiguresOf and the JSON form of a member's figures (member_figures.h).
#include "member_figures.h"

#include "absl/strings/str_cat.h"
#include "loyalty/tiers.h"

namespace loyalty::cli {

MemberFigures FiguresOf(const Program& program, const MemberState& state, Instant at) {
  MemberFigures figures{.balance = {state.balance, state.held(), state.debt()},
                        .tier = state.detail().status.tier,
                        .counters = state.detail().counters,
                        .stamps = {state.detail().stamps.begin(), state.detail().stamps.end()}};
  for (const auto& [id, voucher] : state.detail().vouchers) {
    const Date last = program.zone().LocalDate(Instant::FromUnixMicros(voucher.expires_at.unix_micros() - 1));
    figures.vouchers.push_back({absl::StrCat(id.accrual, "/", id.number), voucher.card, voucher.reward, last,
                                at >= voucher.expires_at});
  }
  const ProgramVersion& version = program.InForceAt(at);
  if (version.tiers.tiers.empty()) return figures;
  // The enrolment's local date matters to membership years only.
  const Period period = QualificationPeriodOf(version.tiers, program.zone().LocalDate(state.enrolled_at),
                                              version.zone.LocalDate(at));
  figures.period = period;
  for (const auto& [counter, all_time] : figures.counters) {
    figures.period_counters[counter] = Points(CounterTotal(state, counter, period, {}));
  }
  return figures;
}

nlohmann::ordered_json ToJson(const MemberFigures& figures) {
  using Json = nlohmann::ordered_json;
  auto counters = [](const std::map<std::string, Points, std::less<>>& totals) {
    Json out = Json::object();
    for (const auto& [name, amount] : totals) out[name] = amount.value();
    return out;
  };
  Json out{{"available", figures.balance.available.value()},
           {"held", figures.balance.held.value()},
           {"debt", figures.balance.debt.value()},
           {"tier", figures.tier.empty() ? Json(nullptr) : Json(figures.tier)},
           {"counters", counters(figures.counters)},
           {"period", nullptr},
           {"period_counters", nullptr}};
  if (figures.period) {
    out["period"] = Json{{"first", figures.period->first.ToString()}, {"last", figures.period->last.ToString()}};
    out["period_counters"] = counters(figures.period_counters);
  }
  out["stamps"] = Json(figures.stamps);
  out["vouchers"] = Json::array();
  for (const VoucherFigure& v : figures.vouchers) {
    out["vouchers"].push_back(Json{{"voucher", v.voucher}, {"card", v.card}, {"reward", v.reward},
                                   {"valid_through", v.valid_through.ToString()}, {"lapsed", v.lapsed}});
  }
  return out;
}

}  // namespace loyalty::cli
