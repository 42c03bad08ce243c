// Personal data apart from the journal: profile validation, the memory and
// SQLite profile stores, erasure that leaves the journal and its chain
// intact, and the JSON export of everything held on a member.
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "loyalty/audit.h"
#include "loyalty/engine.h"
#include "loyalty/profiles.h"

namespace loyalty {
namespace {

MemberId Id(const char* text) { return MemberId::FromValid(text); }
Instant At(const char* text) { return *Instant::Parse(text); }
Date Day(const char* text) { return *Date::Parse(text); }

const Instant kNow = At("2024-03-01T10:00:00Z");

std::string TempPath(const std::string& name) {
  return (std::filesystem::temp_directory_path() / absl::StrCat("profiles_test_", getpid(), "_", name, ".db")).string();
}
void RemoveDb(const std::string& path) {
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
}

Profile Anna() {
  return Profile{"Anna Berg", "anna.berg@example.org", Day("1980-05-17"), {{"language", "de"}, {"card", "co-brand"}}};
}

struct BadProfile {
  const char* what;
  Profile profile;
  const char* fragment;
};

TEST(ValidateProfile, AcceptsAValidProfileAndAnEmptyOne) {
  EXPECT_TRUE(ValidateProfile(Anna(), kNow).ok());
  EXPECT_TRUE(ValidateProfile(Profile{}, kNow).ok());
  EXPECT_TRUE(ValidateProfile(Profile{.email = "o'neil+miles@mail.sub.example.co.uk"}, kNow).ok());
  EXPECT_TRUE(ValidateProfile(Profile{.birthday = Day("2024-03-01")}, kNow).ok());  // born today
  EXPECT_TRUE(ValidateProfile(Profile{.name = "Zoë Ångström"}, kNow).ok());
}

TEST(ValidateProfile, RefusesMalformedFieldsNamingThem) {
  const BadProfile cases[] = {
      {"no @", {.email = "anna.example.org"}, "email: \"anna.example.org\" must have exactly one @"},
      {"two @", {.email = "a@b@example.org"}, "exactly one @"},
      {"empty local", {.email = "@example.org"}, "1 to 64 bytes before the @"},
      {"leading dot", {.email = ".anna@example.org"}, "misplaced dot"},
      {"double dot", {.email = "an..na@example.org"}, "misplaced dot"},
      {"space", {.email = "an na@example.org"}, "has the character ' '"},
      {"no domain dot", {.email = "anna@localhost"}, "needs a domain with a dot"},
      {"empty label", {.email = "anna@example..org"}, "empty or malformed domain label"},
      {"hyphen label", {.email = "anna@-example.org"}, "malformed domain label"},
      {"numeric tld", {.email = "anna@example.123"}, "top-level domain of letters"},
      {"underscore domain", {.email = "anna@ex_ample.org"}, "not letters, digits"},
      {"too long", {.email = std::string(250, 'a') + "@x.org"}, "longer than 254 bytes"},
      {"future birthday", {.birthday = Day("2024-03-02")}, "birthday: 2024-03-02 is in the future (today is 2024-03-01)"},
      {"ancient birthday", {.birthday = Day("1870-01-01")}, "birthday: 1870-01-01 is more than 150 years ago"},
      {"control in name", {.name = "Anna\nBerg"}, "name: has a control character"},
      {"bad utf-8 name", {.name = "Anna \xff"}, "name: is not valid UTF-8"},
      {"long name", {.name = std::string(201, 'x')}, "name: is longer than 200 bytes"},
      {"empty key", {.attributes = {{"", "x"}}}, "attributes.: a key needs 1 to 64 bytes"},
      {"long value", {.attributes = {{"note", std::string(1001, 'x')}}}, "attributes.note: value is longer"},
  };
  for (const BadProfile& c : cases) {
    absl::Status status = ValidateProfile(c.profile, kNow);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.what;
    EXPECT_NE(status.message().find(c.fragment), std::string::npos) << c.what << ": " << status;
  }
}

// The same contract for both stores.
void ExerciseStore(ProfileStore& store) {
  EXPECT_EQ(store.Get(Id("anna")).status().code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(store.Put(Id("anna"), Anna(), kNow).ok());
  EXPECT_EQ(*store.Get(Id("anna")), Anna());
  // A bad update stores nothing.
  Profile bad = Anna();
  bad.email = "not-an-email";
  EXPECT_EQ(store.Put(Id("anna"), bad, kNow).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(*store.Get(Id("anna")), Anna());
  Profile moved = Anna();
  moved.email = "anna@example.net";
  moved.birthday.reset();
  ASSERT_TRUE(store.Put(Id("anna"), moved, kNow).ok());
  EXPECT_EQ(*store.Get(Id("anna")), moved);
  ASSERT_TRUE(store.Put(Id("bob"), Profile{.name = "Bob"}, kNow).ok());
  ASSERT_TRUE(store.Erase(Id("anna")).ok());
  EXPECT_EQ(store.Get(Id("anna")).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store.Erase(Id("anna")).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store.Get(Id("bob"))->name, "Bob");  // others untouched
}

TEST(MemoryProfileStore, PutGetErase) {
  auto store = NewMemoryProfileStore();
  ExerciseStore(*store);
}

TEST(SqliteProfileStore, PutGetEraseAndPersistence) {
  std::string path = TempPath("persist");
  RemoveDb(path);
  {
    auto store = OpenSqliteProfileStore(path);
    ASSERT_TRUE(store.ok()) << store.status();
    ExerciseStore(**store);
    ASSERT_TRUE((*store)->Put(Id("carla"), Anna(), kNow).ok());
  }
  auto reopened = OpenSqliteProfileStore(path);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  EXPECT_EQ(*(*reopened)->Get(Id("carla")), Anna());
  EXPECT_EQ((*reopened)->Get(Id("anna")).status().code(), absl::StatusCode::kNotFound);
  RemoveDb(path);
}

TEST(SqliteProfileStore, RefusesAJournalFile) {
  std::string path = TempPath("journal");
  RemoveDb(path);
  ASSERT_TRUE(OpenSqliteStore(path).ok());
  auto store = OpenSqliteProfileStore(path);
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(store.status().message().find("a loyalty journal"), std::string::npos) << store.status();
  RemoveDb(path);
}

class MemberData : public ::testing::Test {
 protected:
  void SetUp() override {
    journal_path_ = TempPath("member_journal");
    RemoveDb(journal_path_);
    auto store = OpenSqliteStore(journal_path_);
    ASSERT_TRUE(store.ok());
    auto program = Program::Create("gdpr-1", "UTC", ExpiryTerm{36, ExpiryTerm::Round::kEndOfQuarter});
    ASSERT_TRUE(program.ok());
    auto engine = Engine::Open(*std::move(store), clock_, *program);
    ASSERT_TRUE(engine.ok());
    engine_ = *std::move(engine);
    ASSERT_TRUE(engine_->Execute(Enroll{.idempotency_key = "e-anna", .member = Id("anna")}).ok());
    ASSERT_TRUE(engine_->Execute(Enroll{.idempotency_key = "e-bob", .member = Id("bob")}).ok());
    ASSERT_TRUE(engine_->Execute(Credit{.idempotency_key = "c1", .member = Id("anna"), .amount = Points(500),
                                        .source = "shop 1"}).ok());
    ASSERT_TRUE(engine_->Execute(Credit{.idempotency_key = "c2", .member = Id("bob"), .amount = Points(70),
                                        .source = "shop 2"}).ok());
    clock_.Advance(absl::Hours(24));
    ASSERT_TRUE(engine_->Execute(Credit{.idempotency_key = "c3", .member = Id("anna"), .amount = Points(300),
                                        .source = "shop 3"}).ok());
    ASSERT_TRUE(engine_->Execute(Redeem{.idempotency_key = "r1", .member = Id("anna"), .amount = Points(650)}).ok());
    ASSERT_TRUE(profiles_->Put(Id("anna"), Anna(), clock_.Now()).ok());
    ASSERT_TRUE(profiles_->Put(Id("bob"), Profile{.name = "Bob"}, clock_.Now()).ok());
  }
  void TearDown() override {
    engine_.reset();
    RemoveDb(journal_path_);
  }

  FakeClock clock_{kNow};
  std::string journal_path_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<ProfileStore> profiles_ = NewMemoryProfileStore();
};

TEST_F(MemberData, ExportHoldsProfileBalanceLotsAndEntries) {
  auto exported = ExportMemberData(*engine_, *profiles_, Id("anna"), clock_.Now());
  ASSERT_TRUE(exported.ok()) << exported.status();
  nlohmann::json json = nlohmann::json::parse(*exported);
  EXPECT_EQ(json["member"], "anna");
  EXPECT_EQ(json["profile"]["email"], "anna.berg@example.org");
  EXPECT_EQ(json["profile"]["birthday"], "1980-05-17");
  EXPECT_EQ(json["profile"]["attributes"]["language"], "de");
  // 500 + 300 - 650 = 150, spent from the 500 lot first (both expire at the
  // end of the first quarter of 2027; the earlier lot first): 500 -> 0,
  // 300 -> 150.
  EXPECT_EQ(json["balance"]["available"], 150);
  EXPECT_EQ(json["balance"]["held"], 0);
  ASSERT_EQ(json["lots"].size(), 1u);
  EXPECT_EQ(json["lots"][0]["earned"], 300);
  EXPECT_EQ(json["lots"][0]["remaining"], 150);
  EXPECT_EQ(json["lots"][0]["expires_at"], "2027-04-01T00:00:00Z") << json["lots"][0];
  // Only anna's entries: enrol, credit, credit, redeem, with running balance.
  ASSERT_EQ(json["entries"].size(), 4u);
  EXPECT_EQ(json["entries"][1]["available"], 500);
  EXPECT_EQ(json["entries"][2]["available"], 800);
  EXPECT_EQ(json["entries"][3]["available"], 150);
  for (const auto& entry : json["entries"]) {
    EXPECT_FALSE(entry["explanation"].get<std::string>().empty()) << entry;
    EXPECT_EQ(entry["version"], "gdpr-1");
  }
  EXPECT_EQ(exported->find("shop 2"), std::string::npos);  // nothing of bob's
  EXPECT_EQ(json["tier"]["tier"], "");
}

TEST_F(MemberData, ErasureLeavesTheJournalAndItsChainIntact) {
  Sha256 head = engine_->store().HeadHash();
  uint64_t last = engine_->store().LastSeq();
  Sha256 digest = engine_->StateDigest();
  ASSERT_TRUE(profiles_->Erase(Id("anna")).ok());
  EXPECT_EQ(engine_->store().HeadHash(), head);
  EXPECT_EQ(engine_->store().LastSeq(), last);
  EXPECT_EQ(engine_->StateDigest(), digest);
  JournalVerification verified = VerifyJournal(engine_->store());
  EXPECT_TRUE(verified.ok()) << verified.Summary();
  EXPECT_EQ(verified.entries, last);
  auto replayed = Replay(engine_->store());
  ASSERT_TRUE(replayed.ok());
  EXPECT_EQ(replayed->state_digest, digest);
  // The points history is still exportable, without a person attached.
  auto exported = ExportMemberData(*engine_, *profiles_, Id("anna"), clock_.Now());
  ASSERT_TRUE(exported.ok());
  nlohmann::json json = nlohmann::json::parse(*exported);
  EXPECT_TRUE(json["profile"].is_null());
  EXPECT_EQ(json["balance"]["available"], 150);
  EXPECT_EQ(exported->find("Anna Berg"), std::string::npos);
  EXPECT_EQ(exported->find("anna.berg@example.org"), std::string::npos);
}

TEST_F(MemberData, TheJournalFileHoldsNoPersonalData) {
  ASSERT_TRUE(profiles_->Put(Id("anna"), Anna(), clock_.Now()).ok());
  engine_.reset();  // close the journal
  std::string bytes;
  for (const char* suffix : {"", "-wal"}) {
    std::ifstream file(journal_path_ + suffix, std::ios::binary);
    bytes += std::string(std::istreambuf_iterator<char>(file), {});
  }
  ASSERT_FALSE(bytes.empty());
  EXPECT_NE(bytes.find("anna"), std::string::npos);  // the pseudonymous id is there
  EXPECT_EQ(bytes.find("Anna Berg"), std::string::npos);
  EXPECT_EQ(bytes.find("anna.berg@example.org"), std::string::npos);
  EXPECT_EQ(bytes.find("1980-05-17"), std::string::npos);
}

TEST_F(MemberData, UnknownMemberIsNotFound) {
  auto exported = ExportMemberData(*engine_, *profiles_, Id("nobody"), clock_.Now());
  EXPECT_EQ(exported.status().code(), absl::StatusCode::kNotFound);
  // A profile without an enrolment exports with no points data.
  ASSERT_TRUE(profiles_->Put(Id("prospect"), Profile{.name = "P"}, clock_.Now()).ok());
  auto prospect = ExportMemberData(*engine_, *profiles_, Id("prospect"), clock_.Now());
  ASSERT_TRUE(prospect.ok());
  nlohmann::json json = nlohmann::json::parse(*prospect);
  EXPECT_TRUE(json["balance"].is_null());
  EXPECT_TRUE(json["entries"].empty());
}

}  // namespace
}  // namespace loyalty
