// Personal data apart from the journal. The journal holds only pseudonymous
// member ids; who the member is (name, e-mail, birthday, free attributes)
// lives in a ProfileStore, a separate table or file, so that a member's
// profile can be erased (GDPR Art. 17) without touching the journal, whose
// entries are immutable and hash-chained: after an erasure the chain still
// verifies and the points history stays auditable, but no longer names a
// person. ExportMemberData gathers everything held on a member (Art. 15
// access, Art. 20 portability) as one JSON document.
//
//   auto profiles = OpenSqliteProfileStore("profiles.db");   // not journal.db
//   (*profiles)->Put(id, Profile{.name = "Anna Berg", .email = "anna@example.org",
//                                .birthday = *Date::Parse("1980-05-17")}, clock.Now());
//   auto json = ExportMemberData(*engine, **profiles, id, clock.Now());
//   (*profiles)->Erase(id);   // the journal and its chain are unchanged
//
// Thread safety: every method of a ProfileStore may be called from any
// thread; calls are serialized inside the store.
#ifndef LOYALTY_PROFILES_H_
#define LOYALTY_PROFILES_H_

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "loyalty/engine.h"
#include "loyalty/time.h"
#include "loyalty/value.h"

namespace loyalty {

// What is known about the person behind a member id. Every field may be
// empty; whatever is set must be valid (ValidateProfile).
struct Profile {
  std::string name{};                              // up to 200 bytes of UTF-8, no control characters
  std::string email{};                             // local@domain.tld, up to 254 bytes
  std::optional<Date> birthday{};                  // a real date, not after today, at most 150 years ago
  std::map<std::string, std::string> attributes{};  // key (1-64 bytes) -> value (up to 1000 bytes)
  friend bool operator==(const Profile&, const Profile&) = default;
};

// OK if every field of `profile` is valid at `now` (the birthday is judged
// against the UTC date of `now`); else InvalidArgument naming the field
// ("email", "birthday", "attributes.<key>") and the reason.
absl::Status ValidateProfile(const Profile& profile, Instant now);

class ProfileStore {
 public:
  virtual ~ProfileStore() = default;

  // Stores (or replaces) the profile of `member`. InvalidArgument from
  // ValidateProfile (nothing stored); Unavailable if the store cannot write.
  virtual absl::Status Put(const MemberId& member, const Profile& profile, Instant now) = 0;

  // The profile of `member`; NotFound if none is held (never stored, or
  // erased).
  virtual absl::StatusOr<Profile> Get(const MemberId& member) const = 0;

  // Erases everything held on `member` (the right to erasure). NotFound if
  // nothing was held. An SQLite store deletes the rows and lets SQLite
  // overwrite the freed space (secure_delete), so that the data does not
  // linger in the file.
  virtual absl::Status Erase(const MemberId& member) = 0;
};

// Profiles in memory; for tests and scenarios.
std::unique_ptr<ProfileStore> NewMemoryProfileStore();

// Opens (creating if absent) the profile store in the SQLite file at
// `path`, which must not be the journal's file: FailedPrecondition if it is
// a loyalty journal or another database; Unavailable if SQLite cannot open
// it.
absl::StatusOr<std::unique_ptr<ProfileStore>> OpenSqliteProfileStore(const std::string& path);

// Everything held on `member`, as a JSON document (2-space indented):
//   {"member": id, "exported_at": time,
//    "profile": {name, email, birthday, attributes} or null,
//    "balance": {available, held, debt},
//    "tier": {tier, name, valid_until} (tier "" for none),
//    "lots": [{earned_at, expires_at, earned, remaining, version}],
//    "entries": [{seq, business_time, kind, version, explanation,
//                 available, held, debt}]}   with the running balance
// Points are integers, times ISO 8601 UTC. The entries come from the
// engine's journal (the audit's StatementOf). NotFound if the member is
// neither enrolled nor has a profile; the store's read errors as they are.
absl::StatusOr<std::string> ExportMemberData(const Engine& engine, const ProfileStore& profiles,
                                             const MemberId& member, Instant now);

}  // namespace loyalty

#endif  // LOYALTY_PROFILES_H_
