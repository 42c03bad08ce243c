// Unit tests of the canonical journal-entry encoding: round trips of every
// entry kind, the exact bytes of a small entry, and rejection (never a
// crash) of truncated, extended and corrupted input.
#include "journal/entry_codec.h"

#include <cstdint>
#include <initializer_list>
#include <limits>
#include <ostream>
#include <string>
#include <tuple>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "core/encoding.h"
#include "gtest/gtest.h"
#include "loyalty/ledger.h"

namespace loyalty {

std::string Hex(absl::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  for (char c : bytes) {
    hex.push_back(kDigits[static_cast<uint8_t>(c) >> 4]);
    hex.push_back(kDigits[static_cast<uint8_t>(c) & 0xf]);
  }
  return hex;
}

// Readable entries in failure messages (found by argument-dependent lookup).
void PrintTo(const Entry& entry, std::ostream* os) {
  std::string bytes;
  internal::EncodeEntry(entry, &bytes);
  *os << EntryKindName(entry.body) << " seq " << entry.seq << " member \"" << entry.member.value()
      << "\" hash " << ToHex(entry.hash) << " bytes " << Hex(bytes);
}

namespace internal {
namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();

MemberId Id(absl::string_view text) { return MemberId::FromValid(text); }
Instant At(int64_t micros) { return Instant::FromUnixMicros(micros); }

// An entry with every header field set to something other than its default,
// including the hash, which the encoding leaves out.
Entry MakeEntry(EntryBody body) {
  Entry entry;
  entry.seq = 1234567;
  entry.member = Id("M-1");
  entry.business_time = At(1294012800000000);  // 2011-01-03T00:00:00Z
  entry.recorded_at = At(1294012800000001);
  entry.idempotency_key = "order-42/earn";
  for (size_t i = 0; i < entry.command_digest.size(); ++i) {
    entry.command_digest[i] = static_cast<uint8_t>(0xF0 + i);
  }
  entry.version = "mm-2010";
  static constexpr char kExplanation[] = "25.99 EUR x 0.5, \xE2\x82\xAC and a NUL \0 inside";
  entry.explanation = std::string(kExplanation, sizeof(kExplanation) - 1);
  entry.body = std::move(body);
  for (size_t i = 0; i < entry.hash.size(); ++i) entry.hash[i] = static_cast<uint8_t>(i + 1);
  return entry;
}

std::vector<LotDraw> Draws() {
  return {LotDraw{LotId{7, 0}, Points(100)},
          LotDraw{LotId{std::numeric_limits<uint64_t>::max(), std::numeric_limits<uint32_t>::max()},
                  Points(kMax)},
          LotDraw{LotId{128, 3}, Points(-1)}};
}

std::vector<CounterDelta> Counters() {
  return {CounterDelta{"status_miles", Points(500)}, CounterDelta{"segments", Points(1)},
          CounterDelta{"", Points(kMin)}};
}

// One entry of every kind, in EntryBody's order, every field set.
std::vector<Entry> OneOfEachKind() {
  using namespace entries;
  std::vector<Entry> all;
  all.push_back(MakeEntry(Enrolled{}));
  all.push_back(MakeEntry(Credited{Points(1300), Points(200), At(1577833200000000), "basket 991",
                                   Counters(), "basket-991", {Points(1000), Points(0), Points(250)}, Points(50),
                                   {{"base", Points(1250)}, {"welcome", Points(50)}}, -3}));
  all.push_back(MakeEntry(Debited{Points(kMax), Draws(), RewardPrice{"cat:kettle", "v1", "", Points(0), Points(0), Money(4900, *Currency::FromCode("EUR")), "senator", Points(490)}, 7, std::nullopt}));
  all.push_back(MakeEntry(HoldPlaced{Points(250), Instant::Max(), Draws(),
                                     RewardPrice{"award:EU-NA:business:round_trip", "mm-2010", "price_lock", Points(0),
                                                 Points(0)},
                                     9}));
  all.push_back(MakeEntry(HoldCaptured{99, Points(250), Draws()}));
  all.push_back(MakeEntry(HoldReleased{std::numeric_limits<uint64_t>::max(), true, Points(250),
                                       Draws(), Points(5)}));
  all.push_back(MakeEntry(EarnReversed{17, Points(1300), Points(1000), Points(300), Counters(), {0, 2}, -40}));
  all.push_back(MakeEntry(DebitReversed{18, Points(400), Draws(), Points(7)}));
  all.push_back(MakeEntry(Expired{Points(1), Draws()}));
  all.push_back(MakeEntry(Adjusted{Points(-75), "goodwill", "agent:jane", Instant::Min(),
                                   Points(12), Draws()}));
  all.push_back(MakeEntry(TransferredOut{Id("M-2"), Points(600), Draws()}));
  all.push_back(MakeEntry(TransferredIn{
      Id("M-3"), Points(600), Points(50),
      {TransferredLot{Points(300), At(-1), At(1577833200000000)},
       TransferredLot{Points(kMin), Instant::Min(), Instant::Max()}}}));
  all.push_back(MakeEntry(Quoted{Points(90000), At(1577833200000000),
                                 RewardPrice{"award:EU-NA:business:round_trip", "mm-2011", "earned_before",
                                             Points(60000), Points(35000)}}));
  Sha256 hash{};
  hash[0] = 0xab;
  hash[31] = 0x01;
  all.push_back(MakeEntry(VersionPublished{"mm-2011", hash, At(1291158000000000), At(1294009200000000)}));
  all.push_back(MakeEntry(FlagChanged{"cobrand_card", true,
                                      {LotRenewal{LotId{4, 0}, Instant::Max()}, LotRenewal{LotId{9, 2}, At(77)}}}));
  all.push_back(MakeEntry(MembershipClosed{At(1316037600000000)}));
  all.push_back(MakeEntry(TierChanged{"senator", At(1330556400000000), "qualified", false, "ftl", 14610, 14974,
                                      {LotRenewal{LotId{4, 0}, Instant::Max()}}}));
  all.push_back(MakeEntry(TransferSettled{41, Points(600), Points(50),
                                          {TransferredLot{Points(550), At(-1), At(1577833200000000)}},
                                          "member M-2 is not enrolled"}));
  all.push_back(MakeEntry(EstimateRevised{*Rate::Parse("0.84"), 2024, "controller", "two years of history"}));
  all.push_back(MakeEntry(VoucherRedeemed{VoucherId{7, 2}, "free-coffee"}));
  return all;
}

std::string Bytes(std::initializer_list<uint8_t> bytes) {
  std::string out;
  for (uint8_t byte : bytes) out.push_back(static_cast<char>(byte));
  return out;
}

std::string Encode(const Entry& entry) {
  std::string bytes;
  EncodeEntry(entry, &bytes);
  return bytes;
}

Entry WithoutHash(Entry entry) {
  entry.hash = Sha256{};
  return entry;
}

TEST(EntryCodecTest, OneEntryOfEveryKind) {
  std::vector<Entry> all = OneOfEachKind();
  ASSERT_EQ(all.size(), std::variant_size_v<EntryBody>);
  for (size_t i = 0; i < all.size(); ++i) EXPECT_EQ(all[i].body.index(), i);
}

TEST(EntryCodecTest, RoundTripEveryKind) {
  for (const Entry& entry : OneOfEachKind()) {
    SCOPED_TRACE(EntryKindName(entry.body));
    std::string bytes = Encode(entry);
    auto decoded = DecodeEntry(bytes);
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_EQ(decoded->hash, Sha256{});  // the hash is not part of the bytes
    EXPECT_EQ(*decoded, WithoutHash(entry));
    EXPECT_EQ(Encode(*decoded), bytes);  // and encoding again gives the same bytes
  }
}

TEST(EntryCodecTest, EmptyListsAndStringsRoundTrip) {
  Entry entry = MakeEntry(entries::Credited{Points(0), Points(0), Instant(), "", {}});
  entry.idempotency_key.clear();
  entry.version.clear();
  entry.explanation.clear();
  auto decoded = DecodeEntry(Encode(entry));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, WithoutHash(entry));
}

TEST(EntryCodecTest, HashIsNotEncoded) {
  Entry a = MakeEntry(entries::Enrolled{});
  Entry b = a;
  b.hash.fill(0xAB);
  EXPECT_EQ(Encode(a), Encode(b));
}

TEST(EntryCodecTest, EncodeAppends) {
  Entry entry = MakeEntry(entries::Expired{Points(5), Draws()});
  std::string out = "prefix";
  EncodeEntry(entry, &out);
  EXPECT_EQ(out, "prefix" + Encode(entry));
}

TEST(EntryCodecTest, DistinctEntriesEncodeDistinctly) {
  Entry a = MakeEntry(entries::Debited{Points(5), {}});
  Entry b = MakeEntry(entries::Expired{Points(5), {}});  // same fields, other kind
  Entry c = a;
  c.seq += 1;
  EXPECT_NE(Encode(a), Encode(b));
  EXPECT_NE(Encode(a), Encode(c));
}

// The exact bytes, worked out from the format: varints, zigzag for signed
// values, length-prefixed strings, 16 raw digest bytes.
TEST(EntryCodecTest, GoldenBytes) {
  Entry entry;
  entry.seq = 1;
  entry.member = Id("M-1");
  entry.business_time = At(1);   // zigzag 2
  entry.recorded_at = At(-1);    // zigzag 1
  entry.idempotency_key = "k";
  entry.version = "v";
  // explanation empty; command digest all zero.
  // amount 300: zigzag 600 = 0b100'1011000 -> 0xD8 0x04; debt_paid -1 -> 0x01.
  entry.body = entries::Credited{Points(300), Points(-1), At(0), "s", {{"c", Points(1)}}};
  std::string expected = Bytes({
      0x03,                    // format
      0x01,                    // seq
      0x03, 'M', '-', '1',     // member
      0x02,                    // business_time
      0x01,                    // recorded_at
      0x01, 'k',               // idempotency key
      0, 0, 0, 0, 0, 0, 0, 0,  // command digest, 16 raw bytes
      0, 0, 0, 0, 0, 0, 0, 0,  //
      0x01, 'v',               // version
      0x00,                    // explanation
      0x00,                    // recorded command: none
      0x01,                    // kind: credited
      0xD8, 0x04,              // amount 300
      0x01,                    // debt_paid -1
      0x00,                    // expires_at 0
      0x01, 's',               // source
      0x01,                    // one counter
      0x01, 'c',               // its name
      0x02,                    // its amount 1
      0x00,                    // activity id: none
      0x00,                    // no line points
      0x00,                    // unattributed 0
      0x00,                    // no rule grants
      0x00,                    // local day 0
  });
  EXPECT_EQ(Hex(Encode(entry)), Hex(expected));
  auto decoded = DecodeEntry(expected);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, entry);
}

TEST(EntryCodecTest, EveryStrictPrefixIsRejected) {
  for (const Entry& entry : OneOfEachKind()) {
    SCOPED_TRACE(EntryKindName(entry.body));
    std::string bytes = Encode(entry);
    for (size_t length = 0; length < bytes.size(); ++length) {
      auto decoded = DecodeEntry(absl::string_view(bytes).substr(0, length));
      ASSERT_FALSE(decoded.ok()) << "prefix of " << length << " of " << bytes.size() << " bytes";
      ASSERT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument) << decoded.status();
      ASSERT_TRUE(absl::StrContains(decoded.status().message(), "byte")) << decoded.status();
    }
  }
}

// The key read alone is the whole decode's, pointing into the bytes; a
// prefix that ends before the key is rejected as DecodeEntry rejects it.
TEST(EntryCodecTest, KeyReadWithoutDecodingTheRest) {
  for (const Entry& entry : OneOfEachKind()) {
    SCOPED_TRACE(EntryKindName(entry.body));
    std::string bytes = Encode(entry);
    auto key = DecodeEntryKey(bytes);
    ASSERT_TRUE(key.ok()) << key.status();
    EXPECT_EQ(key->seq, entry.seq);
    EXPECT_EQ(key->idempotency_key, entry.idempotency_key);
    EXPECT_GE(key->idempotency_key.data(), bytes.data());
    EXPECT_LE(key->idempotency_key.data() + key->idempotency_key.size(), bytes.data() + bytes.size());
    const size_t key_end = static_cast<size_t>(key->idempotency_key.data() - bytes.data()) + key->idempotency_key.size();
    for (size_t length = 0; length < key_end; ++length) {
      auto prefix = DecodeEntryKey(absl::string_view(bytes).substr(0, length));
      ASSERT_FALSE(prefix.ok()) << "prefix of " << length << " bytes";
      ASSERT_EQ(prefix.status().code(), absl::StatusCode::kInvalidArgument);
      ASSERT_TRUE(absl::StrContains(prefix.status().message(), "malformed journal entry")) << prefix.status();
    }
    EXPECT_TRUE(DecodeEntryKey(absl::string_view(bytes).substr(0, key_end)).ok());
  }
  std::string other_format = Encode(OneOfEachKind().front());
  other_format[0] = 2;
  EXPECT_TRUE(absl::StrContains(DecodeEntryKey(other_format).status().message(), "unknown entry format"));
}

TEST(EntryCodecTest, TrailingBytesRejected) {
  for (const Entry& entry : OneOfEachKind()) {
    SCOPED_TRACE(EntryKindName(entry.body));
    std::string bytes = Encode(entry);
    for (absl::string_view extra : {absl::string_view("\0", 1), absl::string_view("xyz")}) {
      auto decoded = DecodeEntry(bytes + std::string(extra));
      ASSERT_FALSE(decoded.ok());
      EXPECT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument);
      // The problem is found where the entry should have ended.
      EXPECT_TRUE(absl::StrContains(decoded.status().message(), absl::StrCat(bytes.size())))
          << decoded.status();
    }
  }
}

// The header of an entry written field by field, with any member text.
std::string Header(absl::string_view member) {
  std::string out;
  Writer w(&out);
  w.Unsigned(3);  // format
  w.Unsigned(5);  // seq
  w.Bytes(member);
  w.Signed(1294012800000000);
  w.Signed(1294012800000000);
  w.Bytes("key");
  const std::string digest(16, '\x11');
  w.Raw(digest.data(), digest.size());
  w.Bytes("mm-2010");
  w.Bytes("why");
  w.Bytes("");  // no recorded command
  return out;
}

std::string WithKind(std::string header, uint64_t kind) {
  Writer(&header).Unsigned(kind);
  return header;
}

TEST(EntryCodecTest, HandWrittenHeaderDecodes) {
  // The control for the tests below: a well-formed hand-written entry.
  auto decoded = DecodeEntry(WithKind(Header("M-1"), 0));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->seq, 5u);
  EXPECT_EQ(decoded->member, Id("M-1"));
  EXPECT_EQ(decoded->idempotency_key, "key");
  EXPECT_TRUE(std::holds_alternative<entries::Enrolled>(decoded->body));
}

TEST(EntryCodecTest, UnknownKindRejected) {
  // Kind 17 is the reversal that takes from the balance first (below);
  // 18 and 19 are the halves of a transfer across shards, 20 its
  // settlement, 21 a revised estimate, 22 and 23 an accrual and a return
  // extended with their lines' units and stamps, 24 a redeemed voucher.
  for (uint64_t kind : {uint64_t{25}, uint64_t{26}, uint64_t{127}, uint64_t{128},
                        std::numeric_limits<uint64_t>::max()}) {
    SCOPED_TRACE(kind);
    auto decoded = DecodeEntry(WithKind(Header("M-1"), kind));
    ASSERT_FALSE(decoded.ok());
    EXPECT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(absl::StrContains(decoded.status().message(), "kind")) << decoded.status();
  }
}

// An accrual whose lines have more than one unit or collect stamps, and
// bought points, have the extended form (kind 22), as have a return of some
// units or stamps and a refund (kind 23): their units, stamps and money
// follow the fields of the kinds without them, which keep their bytes. An extended entry with neither is refused, so
// that one entry has one encoding.
TEST(EntryCodecTest, ExtendedFormsHaveKindsOfTheirOwn) {
  entries::Credited credited{Points(50), Points(0), Instant::Max(), "purchase b1", {}, "b1",
                             {Points(30), Points(20)}, Points(0), {}, 7};
  entries::EarnReversed returned{9, Points(10), Points(10), Points(0), {}, {0}, 7};
  // An enrolment has no fields: its last byte is the kind.
  const size_t kind_at = Encode(MakeEntry(entries::Enrolled{})).size() - 1;
  EXPECT_EQ(Encode(MakeEntry(credited))[kind_at], 1);
  EXPECT_EQ(Encode(MakeEntry(returned))[kind_at], 17);
  credited.line_units = {3, 2};
  returned.units = {1};
  // Their tails: the units, then no stamps and no money.
  for (const auto& [entry, kind, tail] : {std::tuple(MakeEntry(credited), 22, size_t{5}),
                                          std::tuple(MakeEntry(returned), 23, size_t{4})}) {
    SCOPED_TRACE(kind);
    std::string bytes = Encode(entry);
    ASSERT_EQ(bytes[kind_at], kind);
    auto decoded = DecodeEntry(bytes);
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_EQ(*decoded, WithoutHash(entry));
    bytes.resize(bytes.size() - tail);
    bytes.append(3, '\0');  // no units, no stamps, no money
    auto empty = DecodeEntry(bytes);
    ASSERT_FALSE(empty.ok());
    EXPECT_TRUE(absl::StrContains(empty.status().message(), "extends nothing")) << empty.status();
  }
  // Stamps alone extend them, and so do the money of bought points and of
  // their refund.
  std::vector<Entry> extended;
  credited.line_units.clear();
  credited.stamps = {StampGrant{"coffee-card", {0, 1}, 2, 10, 1, "free-coffee", At(1577833200000000)}};
  returned.units.clear();
  returned.stamps = {StampReturn{"coffee-card", 1, {0}}};
  extended.push_back(MakeEntry(credited));
  extended.push_back(MakeEntry(returned));
  credited.stamps.clear();
  credited.price = Money(2500, *Currency::FromCode("EUR"));
  returned.stamps.clear();
  returned.refund = Money(1250, *Currency::FromCode("EUR"));
  extended.push_back(MakeEntry(credited));
  extended.push_back(MakeEntry(returned));
  for (const Entry& entry : extended) {
    const std::string bytes = Encode(entry);
    auto decoded = DecodeEntry(bytes);
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_EQ(*decoded, WithoutHash(entry));
    EXPECT_EQ(Encode(*decoded), bytes);
  }
}

// A reversal journaled before reversals took from the member's other lots
// keeps kind 6 and its bytes; one that takes from them is kind 17, with its
// draws after the fields the two share.
TEST(EntryCodecTest, ReversalsKeepTheKindOfTheirRule) {
  entries::EarnReversed legacy{17, Points(1300), Points(1000), Points(300), {}, {0, 2}, -40};
  legacy.balance_first = false;
  entries::EarnReversed drawing = legacy;
  drawing.balance_first = true;
  drawing.debt_added = Points(100);
  drawing.draws = {{LotId{9, 1}, Points(200)}};
  for (const auto& [body, kind] : {std::pair(legacy, uint8_t{6}), std::pair(drawing, uint8_t{17})}) {
    SCOPED_TRACE(kind);
    const Entry entry = MakeEntry(body);
    const std::string bytes = Encode(entry);
    auto decoded = DecodeEntry(bytes);
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_EQ(*decoded, WithoutHash(entry));
    EXPECT_EQ(Encode(*decoded), bytes);
  }
  // The older kind's body, written by hand: no draws follow its fields.
  std::string old = WithKind(Header("M-1"), 6);
  Writer w(&old);
  w.Unsigned(17);     // credit
  w.Signed(1300);     // amount
  w.Signed(1000);     // from_lot
  w.Signed(300);      // debt_added
  w.Unsigned(0);      // counters
  w.Unsigned(0);      // lines
  w.Signed(-40);      // counter day
  auto decoded = DecodeEntry(old);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  const auto& reversal = std::get<entries::EarnReversed>(decoded->body);
  EXPECT_FALSE(reversal.balance_first);
  EXPECT_TRUE(reversal.draws.empty());
  EXPECT_EQ(reversal.debt_added, Points(300));
  EXPECT_EQ(Encode(*decoded), old);
  // The same fields under kind 17 lack the draws' count.
  old[Header("M-1").size()] = 17;
  EXPECT_FALSE(DecodeEntry(old).ok());
}

// The halves of a transfer across shards are kinds 18 and 19; the sending
// half lists the lots' dates after the fields of a transfer within a
// journal, which keeps kind 10 and its bytes.
TEST(EntryCodecTest, TransfersAcrossShardsHaveKindsOfTheirOwn) {
  const std::vector<TransferredLot> lots = {{Points(600), At(-1), At(1577833200000000)}};
  entries::TransferredOut within{Id("M-2"), Points(600), {{LotId{9, 1}, Points(600)}}};
  entries::TransferredOut sent = within;
  sent.across = true;
  sent.lots = lots;
  entries::TransferredIn received{Id("M-3"), Points(600), Points(0), lots, true};
  // An enrolment has no fields: its last byte is the kind.
  const size_t kind_at = Encode(MakeEntry(entries::Enrolled{})).size() - 1;
  const std::pair<EntryBody, uint8_t> cases[] = {{within, 10}, {sent, 18}, {received, 19}};
  for (const auto& [body, kind] : cases) {
    SCOPED_TRACE(kind);
    const Entry entry = MakeEntry(body);
    const std::string bytes = Encode(entry);
    EXPECT_EQ(static_cast<uint8_t>(bytes[kind_at]), kind);
    auto decoded = DecodeEntry(bytes);
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_EQ(*decoded, WithoutHash(entry));
    EXPECT_EQ(Encode(*decoded), bytes);
  }
}

TEST(EntryCodecTest, UnknownFormatRejected) {
  std::string bytes = Encode(MakeEntry(entries::Enrolled{}));
  ASSERT_EQ(bytes[0], '\x03');
  for (char format : {'\x00', '\x01', '\x02', '\x7f'}) {
    bytes[0] = format;
    auto decoded = DecodeEntry(bytes);
    ASSERT_FALSE(decoded.ok());
    EXPECT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(absl::StrContains(decoded.status().message(), "format")) << decoded.status();
  }
}

TEST(EntryCodecTest, InvalidMemberIdRejected) {
  const std::string too_long(65, 'm');
  for (absl::string_view bad :
       {absl::string_view("bad id"), absl::string_view(""), absl::string_view(too_long),
        absl::string_view("M\xC3\xA9"), absl::string_view("M\0", 2)}) {
    SCOPED_TRACE(Hex(bad));
    auto decoded = DecodeEntry(WithKind(Header(bad), 0));
    ASSERT_FALSE(decoded.ok());
    EXPECT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(absl::StrContains(decoded.status().message(), "member id")) << decoded.status();
  }
}

TEST(EntryCodecTest, InvalidMemberIdInTransferRejected) {
  auto transfer_to = [](absl::string_view to) {
    std::string bytes = WithKind(Header("M-1"), 10);  // transferred_out
    Writer w(&bytes);
    w.Bytes(to);
    w.Signed(600);
    w.Unsigned(0);  // no draws
    return bytes;
  };
  auto good = DecodeEntry(transfer_to("M-2"));
  ASSERT_TRUE(good.ok()) << good.status();
  EXPECT_EQ(std::get<entries::TransferredOut>(good->body).to, Id("M-2"));
  auto bad = DecodeEntry(transfer_to("M 2"));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(bad.status().message(), "M 2")) << bad.status();
}

TEST(EntryCodecTest, OutOfRangeFieldsRejected) {
  // hold_released with a lapsed flag of 2.
  {
    std::string bytes = WithKind(Header("M-1"), 5);
    Writer w(&bytes);
    w.Unsigned(9);  // hold
    w.Unsigned(2);  // lapsed: neither 0 nor 1
    w.Signed(10);
    w.Unsigned(0);
    EXPECT_EQ(DecodeEntry(bytes).status().code(), absl::StatusCode::kInvalidArgument);
  }
  // A draw whose lot part does not fit in 32 bits.
  {
    std::string bytes = WithKind(Header("M-1"), 2);  // debited
    Writer w(&bytes);
    w.Signed(10);
    w.Unsigned(1);
    w.Unsigned(7);
    w.Unsigned(uint64_t{1} << 32);
    w.Signed(10);
    EXPECT_EQ(DecodeEntry(bytes).status().code(), absl::StatusCode::kInvalidArgument);
  }
  // A string longer than any field allows (4096 bytes).
  {
    std::string bytes = WithKind(Header("M-1"), 1);  // credited
    Writer w(&bytes);
    w.Signed(10);
    w.Signed(0);
    w.Signed(0);
    w.Bytes(std::string(4097, 's'));
    w.Unsigned(0);
    EXPECT_EQ(DecodeEntry(bytes).status().code(), absl::StatusCode::kInvalidArgument);
  }
  // A list count far beyond the input, and an 11-byte varint.
  {
    std::string bytes = WithKind(Header("M-1"), 8);  // expired
    Writer w(&bytes);
    w.Signed(10);
    w.Unsigned(std::numeric_limits<uint64_t>::max());
    EXPECT_EQ(DecodeEntry(bytes).status().code(), absl::StatusCode::kInvalidArgument);
  }
  {
    std::string bytes = Header("M-1") + std::string(10, '\x80') + std::string(1, '\x00');
    EXPECT_EQ(DecodeEntry(bytes).status().code(), absl::StatusCode::kInvalidArgument);
  }
  // A 10-byte varint whose last byte would set bits above bit 63.
  {
    std::string bytes = Header("M-1") + std::string(9, '\xFF') + std::string(1, '\x02');
    EXPECT_EQ(DecodeEntry(bytes).status().code(), absl::StatusCode::kInvalidArgument);
  }
}

TEST(EntryCodecTest, EveryChangedByteIsRejectedOrDecodesDifferently) {
  // Every single byte replaced by every other value: the decoder must either
  // reject the bytes cleanly or see a different entry; it must never crash
  // or ignore the change.
  int rejected = 0, different = 0;
  for (const Entry& entry : OneOfEachKind()) {
    SCOPED_TRACE(EntryKindName(entry.body));
    const Entry original = WithoutHash(entry);
    const std::string bytes = Encode(entry);
    for (size_t i = 0; i < bytes.size(); ++i) {
      for (int delta = 1; delta < 256; ++delta) {
        std::string changed = bytes;
        changed[i] = static_cast<char>(static_cast<uint8_t>(changed[i]) ^ delta);
        auto decoded = DecodeEntry(changed);
        if (decoded.ok()) {
          ++different;
          ASSERT_FALSE(*decoded == original) << "byte " << i << " xor " << delta << " ignored";
        } else {
          ++rejected;
          ASSERT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument)
              << "byte " << i << " xor " << delta << ": " << decoded.status();
        }
      }
    }
  }
  // Both outcomes occur (digest and text bytes decode; length bytes do not).
  EXPECT_GT(rejected, 0);
  EXPECT_GT(different, 0);
}

}  // namespace
}  // namespace internal
}  // namespace loyalty
