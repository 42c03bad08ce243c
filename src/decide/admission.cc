// The checks every command passes before its own: a well-formed envelope
// (idempotency key, member id, business time), and, for all but Enroll, an
// enrolled member whose membership allows the command, at a partner of the
// version in force.
#include <variant>

#include "absl/strings/str_cat.h"
#include "core/overloaded.h"
#include "decide/commands.h"

namespace loyalty::internal {
namespace {

// A closed membership earns nothing, and spends only within its grace. A
// transfer it sent to another shard is still settled, so that refused
// points come back to it.
absl::Status CheckOpen(const MemberState& member, const MemberId& id, const Command& command, Instant at) {
  if (!member.closed) return absl::OkStatus();
  bool earns = std::holds_alternative<Credit>(command) || std::holds_alternative<Accrue>(command) ||
               std::holds_alternative<GrantTier>(command) || std::holds_alternative<SubscribeTier>(command) ||
               std::holds_alternative<ReceiveTransfer>(command) ||
               (std::holds_alternative<Adjust>(command) && std::get<Adjust>(command).delta > Points(0));
  bool spends = std::holds_alternative<Redeem>(command) || std::holds_alternative<PlaceHold>(command) ||
                std::holds_alternative<RedeemReward>(command) || std::holds_alternative<HoldReward>(command) ||
                std::holds_alternative<PayWithPointsAtTill>(command) || std::holds_alternative<Transfer>(command) ||
                std::holds_alternative<SendTransfer>(command);
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

}  // namespace

absl::Status CheckEnvelope(const Command& command, Instant at) {
  const std::string& key = IdempotencyKeyOf(command);
  if (key.empty() || key.size() > kMaxKey) {
    return Invalid("idempotency_key", absl::StrCat("must have 1 to ", kMaxKey, " bytes"));
  }
  const MemberId& id = MemberOf(command);
  if (id.value().empty()) return Invalid("member", "must not be empty");
  if (id.value().front() == '#') return Invalid("member", "ids starting with '#' are reserved");
  return CheckBusinessTime("at", at);
}

absl::StatusOr<std::string> AdmitMember(const DecideContext& context, const Command& command) {
  const MemberState* member = context.state;
  if (member == nullptr || !member->enrolled) {
    return absl::NotFoundError(absl::StrCat("member ", context.id.value(), " is not enrolled"));
  }
  if (absl::Status enrolled = CheckEnrolledBy(*member, context.id, context.at); !enrolled.ok()) return enrolled;
  if (absl::Status open = CheckOpen(*member, context.id, command, context.at); !open.ok()) return open;
  return PartnerOfCommand(context.program, *member, command, context.at);
}

}  // namespace loyalty::internal

