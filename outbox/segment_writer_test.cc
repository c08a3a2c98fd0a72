#include "outbox/segment_writer.h"

#include <gtest/gtest.h>

#include "outbox/block_compressor.h"
#include "outbox/format.h"
#include "outbox/outbox_testing.h"
#include "outbox/record_codec.h"
#include "outbox/segment_reader.h"
#include "util/fault_injection_file_system.h"
#include "util/mem_file_system.h"

namespace owsync::outbox {
namespace {

class SegmentWriterTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(mem_.CreateDirs("/ob").ok()); }

  // Framed records i..i+n-1.
  static std::string Records(uint64_t first, uint32_t n) {
    std::string out;
    for (uint32_t k = 0; k < n; ++k) AppendFramedRecord(testing::TestRecord(first + k), &out);
    return out;
  }

  MemFileSystem mem_;
  FaultInjectionFileSystem fs_{&mem_};
  OutboxDir dir_{"/ob"};
  SegmentHeader header_{1, "outbox-a", "gen 1"};
};

TEST_F(SegmentWriterTest, CreateMakesHeaderAndDirectoryEntryDurable) {
  auto w = SegmentWriter::Create(&fs_, dir_, header_);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  ASSERT_TRUE(fs_.DropUnsyncedData().ok());
  auto r = SegmentReader::Open(&fs_, dir_.SegmentPath(1));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)->header(), header_);
  EXPECT_EQ((*w)->size(), (*r)->data_start());
  EXPECT_FALSE((*w)->has_blocks());
}

TEST_F(SegmentWriterTest, CreateRefusesAnExistingSegment) {
  ASSERT_TRUE(SegmentWriter::Create(&fs_, dir_, header_).ok());
  auto again = SegmentWriter::Create(&fs_, dir_, header_);
  EXPECT_EQ(again.status().code(), StatusCode::kAlreadyExists);
}

TEST_F(SegmentWriterTest, CreateRejectsIdsTheFormatCannotHold) {
  EXPECT_EQ(SegmentWriter::Create(&fs_, dir_, {1, "", ""}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(SegmentWriter::Create(&fs_, dir_, {1, "has space", ""}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(SegmentWriter::Create(&fs_, dir_, {1, "id", std::string(256, 'g')}).status().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(SegmentWriterTest, SyncedBlocksSurvivePowerLossUnsyncedOnesDoNot) {
  auto w = SegmentWriter::Create(&fs_, dir_, header_);
  ASSERT_TRUE(w.ok());
  BlockCompressor c(1);
  const std::string first = Records(1, 10), second = Records(11, 10);
  BuiltBlock b;
  ASSERT_TRUE(c.Build(first, 10, 1, &b).ok());
  ASSERT_TRUE((*w)->AppendBlock(b).ok());
  ASSERT_TRUE((*w)->Sync().ok());
  const uint64_t synced = (*w)->size();
  ASSERT_TRUE(c.Build(second, 10, 11, &b).ok());
  ASSERT_TRUE((*w)->AppendBlock(b).ok());
  EXPECT_GT((*w)->size(), synced);
  EXPECT_EQ((*w)->synced_size(), synced);
  ASSERT_TRUE(fs_.DropUnsyncedData().ok());
  EXPECT_EQ(*fs_.GetFileSize(dir_.SegmentPath(1)), synced);
}

TEST_F(SegmentWriterTest, TruncateToSyncedCutsAFailedAppend) {
  auto w = SegmentWriter::Create(&fs_, dir_, header_);
  ASSERT_TRUE(w.ok());
  BlockCompressor c(1);
  const std::string recs = Records(1, 50);
  BuiltBlock b;
  ASSERT_TRUE(c.Build(recs, 50, 1, &b).ok());
  const uint64_t before = (*w)->size();
  fs_.TearNextWrite(10);
  EXPECT_FALSE((*w)->AppendBlock(b).ok());
  EXPECT_EQ(*fs_.GetFileSize(dir_.SegmentPath(1)), before + 10);
  ASSERT_TRUE((*w)->TruncateToSynced().ok());
  EXPECT_EQ(*fs_.GetFileSize(dir_.SegmentPath(1)), before);
  EXPECT_EQ((*w)->size(), before);
}

TEST_F(SegmentWriterTest, ReopenContinuesAfterRecoveredBytes) {
  uint64_t size = 0, header_bytes = 0;
  {
    auto w = SegmentWriter::Create(&fs_, dir_, header_);
    ASSERT_TRUE(w.ok());
    header_bytes = (*w)->size();
    BlockCompressor c(1);
    const std::string recs = Records(1, 5);
    BuiltBlock b;
    ASSERT_TRUE(c.Build(recs, 5, 1, &b).ok());
    ASSERT_TRUE((*w)->AppendBlock(b).ok());
    size = (*w)->size();  // not synced: Reopen makes it durable
  }
  auto w = SegmentWriter::Reopen(&fs_, dir_.SegmentPath(1), header_, size, header_bytes);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_TRUE((*w)->has_blocks());
  EXPECT_EQ((*w)->synced_size(), size);
  EXPECT_FALSE(
      SegmentWriter::Reopen(&fs_, dir_.SegmentPath(1), header_, size + 1, header_bytes).ok());
}

}  // namespace
}  // namespace owsync::outbox
