#include "capture/column_signature.h"

#include <gtest/gtest.h>

namespace owsync::capture {
namespace {

TableInfo Table(std::vector<std::tuple<std::string, std::string, uint32_t>> columns) {
  TableInfo t;
  t.name = "t";
  for (auto& [name, dflt, key] : columns) {
    outbox::Column c;
    c.name = name;
    c.key_position = key;
    t.columns.push_back(c);
    t.column_defaults.push_back(dflt);
  }
  return t;
}

TEST(ColumnSignatureTest, EncodeDecodeRoundTripsAnyBytes) {
  const ColumnSignature s = ColumnSignature::Of(Table({{"id", "", 1},
                                                       {"we;ird:1\t\"col\"", "'a;b:c'", 0},
                                                       {std::string("nul\0x", 5), "0", 0},
                                                       {"ünï", "", 2}}));
  auto back = ColumnSignature::Decode(s.Encode());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, s);
}

TEST(ColumnSignatureTest, MalformedTextIsCorruption) {
  for (const char* bad : {"", "v2;", "v1;3:ab", "v1;1:a0:", "v1;1:a0:x;", "v1;99:a0:0;"}) {
    EXPECT_EQ(ColumnSignature::Decode(bad).status().code(), StatusCode::kCorruption) << bad;
  }
}

TEST(ColumnSignatureTest, ColumnAddedWithADefaultNeedsASnapshot) {
  auto before = ColumnSignature::Of(Table({{"id", "", 1}, {"v", "", 0}}));
  EXPECT_TRUE(ColumnSignature::Of(Table({{"id", "", 1}, {"v", "", 0}, {"p", "0", 0}}))
                  .NeedsSnapshotAfter(before));
}

TEST(ColumnSignatureTest, ColumnAddedWithoutADefaultNeedsNone) {
  auto before = ColumnSignature::Of(Table({{"id", "", 1}, {"v", "", 0}}));
  EXPECT_FALSE(ColumnSignature::Of(Table({{"id", "", 1}, {"v", "", 0}, {"p", "", 0}}))
                   .NeedsSnapshotAfter(before));
  EXPECT_FALSE(before.NeedsSnapshotAfter(before));
}

TEST(ColumnSignatureTest, RenamedColumnNeedsASnapshot) {
  auto before = ColumnSignature::Of(Table({{"id", "", 1}, {"v", "", 0}}));
  EXPECT_TRUE(ColumnSignature::Of(Table({{"id", "", 1}, {"w", "", 0}})).NeedsSnapshotAfter(before));
}

TEST(ColumnSignatureTest, DroppedColumnNeedsNone) {
  auto before = ColumnSignature::Of(Table({{"id", "", 1}, {"v", "", 0}, {"w", "", 0}}));
  EXPECT_FALSE(
      ColumnSignature::Of(Table({{"id", "", 1}, {"v", "", 0}})).NeedsSnapshotAfter(before));
}

TEST(ColumnSignatureTest, ChangedKeyNeedsASnapshot) {
  auto before = ColumnSignature::Of(Table({{"id", "", 1}, {"v", "", 0}}));
  EXPECT_TRUE(
      ColumnSignature::Of(Table({{"key", "", 1}, {"v", "", 0}})).NeedsSnapshotAfter(before));
  EXPECT_TRUE(ColumnSignature::Of(Table({{"id", "", 1}, {"v", "", 2}})).NeedsSnapshotAfter(before));
}

}  // namespace
}  // namespace owsync::capture
