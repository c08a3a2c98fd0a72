// Fault injection: power loss, failing writes and syncs, torn tails, flipped bits and a full
// disk, against the outbox writer and reader (DESIGN.md invariants 1 and 5).
#include <gtest/gtest.h>

#include <random>

#include "outbox/block_compressor.h"
#include "outbox/outbox_dir.h"
#include "outbox/outbox_reader.h"
#include "outbox/outbox_testing.h"
#include "outbox/outbox_writer.h"
#include "outbox/record_codec.h"
#include "util/fake_clock.h"
#include "util/fault_injection_file_system.h"
#include "util/logger.h"
#include "util/mem_file_system.h"

namespace owsync::outbox {
namespace {

using testing::ReadAll;
using testing::TestRecord;

class OutboxFaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_.segment_bytes = 5000;
    options_.block_bytes = 1200;
    options_.logger = &log_;
  }
  Result<std::unique_ptr<OutboxWriter>> Open() {
    return OutboxWriter::Open(&fs_, &clock_, dir_, options_);
  }
  std::unique_ptr<OutboxWriter> MustOpen() {
    auto w = Open();
    EXPECT_TRUE(w.ok()) << w.status().ToString();
    return w.ok() ? std::move(w).value() : nullptr;
  }
  // Appends n records (remembered in model_ at their offsets).
  Status Append(OutboxWriter* w, uint64_t n) {
    for (uint64_t i = 0; i < n; ++i) {
      Record r = TestRecord(model_.size() + 1000 * ++serial_, 250);
      OWSYNC_ASSIGN_OR_RETURN(const uint64_t offset, w->Append(&r));
      if (offset != model_.size() + 1) return Status::Internal("offset not contiguous");
      model_.push_back(r);
    }
    return Status::OK();
  }
  Status AppendAndCommit(OutboxWriter* w, uint64_t n) {
    OWSYNC_RETURN_IF_ERROR(Append(w, n));
    return w->Commit();
  }
  // After a reopen: the records that survived are exactly model_'s first next_offset-1, and
  // nothing acknowledged as durable is missing.
  void CheckAfterReopen(OutboxWriter* w, uint64_t durable) {
    ASSERT_GE(w->next_offset() - 1, durable) << "a durable record was lost";
    ASSERT_LE(w->next_offset() - 1, model_.size());
    model_.resize(w->next_offset() - 1);
    auto all = ReadAll(&fs_, dir_);
    ASSERT_TRUE(all.ok()) << all.status().ToString();
    ASSERT_EQ(all->size(), model_.size());
    for (size_t i = 0; i < model_.size(); ++i)
      ASSERT_EQ((*all)[i], model_[i]) << "offset " << i + 1;
  }
  std::string ActivePath() { return OutboxDir(dir_).ListSegments(&fs_)->back().path; }
  // The bytes of a valid block holding n fresh records that would come at `first`.
  static std::string BlockBytes(uint64_t first, uint32_t n) {
    std::string recs;
    for (uint32_t i = 0; i < n; ++i) AppendFramedRecord(TestRecord(first + i, 250), &recs);
    BlockCompressor c(1);
    BuiltBlock b;
    EXPECT_TRUE(c.Build(recs, n, first, &b).ok());
    return std::string(b.head) + std::string(b.tail);
  }
  void AppendRaw(const std::string& path, std::string_view bytes) {
    auto f = fs_.NewAppendableFile(path);
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE((*f)->Append(bytes).ok());
    ASSERT_TRUE((*f)->Sync().ok());
  }

  MemFileSystem mem_;
  FaultInjectionFileSystem fs_{&mem_};
  FakeClock clock_;
  CapturingLogger log_;
  std::string dir_ = "/ob";
  OutboxWriterOptions options_;
  std::vector<Record> model_;  // model_[o - 1]: the record appended at offset o
  uint64_t serial_ = 0;
};

TEST_F(OutboxFaultTest, NewOutboxSurvivesPowerLossRightAfterCreation) {
  std::string id;
  {
    auto w = MustOpen();
    id = w->outbox_id();
    ASSERT_TRUE(fs_.DropUnsyncedData().ok());
  }
  auto w = MustOpen();
  EXPECT_EQ(w->outbox_id(), id);
  EXPECT_EQ(w->next_offset(), 1u);
}

TEST_F(OutboxFaultTest, AfterPowerLossEveryDurableRecordIsReadableAndNothingIsHalfVisible) {
  std::mt19937_64 rng(12345);
  uint64_t durable = 0;
  auto w = MustOpen();
  auto reader = OutboxReader::Open(&fs_, dir_, 0);
  ASSERT_TRUE(reader.ok());
  uint64_t read_upto = 0;
  int failed_commits = 0;
  for (int round = 0; round < 150; ++round) {
    // A few commits, some of them failing in one way or another.
    const int fault = static_cast<int>(rng() % 6);
    if (fault == 1) fs_.FailSyncAfter(static_cast<int64_t>(rng() % 4));
    if (fault == 2) fs_.FailWriteAfter(static_cast<int64_t>(rng() % 6));
    if (fault == 3) fs_.TearNextWrite(rng() % 300);
    for (int c = 0; c < 3; ++c) {
      Status s = AppendAndCommit(w.get(), 1 + rng() % 12);
      if (!s.ok()) {
        ++failed_commits;
        break;
      }
      ASSERT_EQ(w->durable_offset(), model_.size());
      durable = w->durable_offset();
    }
    // A live reader only ever sees durable records, each exactly as appended.
    Record rec;
    while (true) {
      auto more = (*reader)->Next(&rec);
      ASSERT_TRUE(more.ok()) << more.status().ToString();
      if (!*more) break;
      ASSERT_EQ(rec.offset, read_upto + 1);
      ASSERT_LE(rec.offset, durable);
      ASSERT_EQ(rec, model_[rec.offset - 1]);
      read_upto = rec.offset;
    }
    // Then a power loss (or, sometimes, just a process crash) and a restart.
    if (rng() % 4 != 0) {
      ASSERT_TRUE(fs_.DropUnsyncedData().ok());
    }
    w.reset();
    fs_.ClearFaults();
    w = MustOpen();
    ASSERT_NE(w, nullptr);
    CheckAfterReopen(w.get(), durable);
    durable = w->durable_offset();
  }
  EXPECT_GT(OutboxDir(dir_).ListSegments(&fs_)->size(), 3u);
  EXPECT_GT(durable, 300u);
  EXPECT_GT(failed_commits, 30);  // the faults did strike
}

TEST_F(OutboxFaultTest, FailedWriteIsReportedAndNothingCommittedIsLost) {
  auto w = MustOpen();
  ASSERT_TRUE(AppendAndCommit(w.get(), 10).ok());
  fs_.FailWriteAfter(0);
  Status s = AppendAndCommit(w.get(), 5);
  EXPECT_EQ(s.code(), StatusCode::kIOError) << s.ToString();
  EXPECT_EQ(w->durable_offset(), 10u);
  Record r = TestRecord(1);
  EXPECT_FALSE(w->Append(&r).ok()) << "a failed writer must not take more records";
  EXPECT_FALSE(w->Commit().ok());
  w.reset();
  fs_.ClearFaults();
  w = MustOpen();
  CheckAfterReopen(w.get(), 10);
  EXPECT_EQ(w->next_offset(), 11u);
  ASSERT_TRUE(AppendAndCommit(w.get(), 3).ok());
  CheckAfterReopen(w.get(), 13);
}

TEST_F(OutboxFaultTest, FailedSyncIsReportedAndItsRecordsAreNeverPublished) {
  auto w = MustOpen();
  ASSERT_TRUE(AppendAndCommit(w.get(), 10).ok());
  fs_.FailSyncAfter(0);
  Status s = AppendAndCommit(w.get(), 5);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(w->durable_offset(), 10u);
  EXPECT_EQ(ReadAll(&fs_, dir_)->size(), 10u);
  ASSERT_TRUE(fs_.DropUnsyncedData().ok());
  w.reset();
  fs_.ClearFaults();
  w = MustOpen();
  CheckAfterReopen(w.get(), 10);
  EXPECT_EQ(w->next_offset(), 11u) << "unsynced records must not come back after a failed sync";
}

TEST_F(OutboxFaultTest, TornTailIsTruncatedOnReopen) {
  {
    auto w = MustOpen();
    ASSERT_TRUE(AppendAndCommit(w.get(), 10).ok());
  }
  const std::string path = ActivePath();
  const uint64_t good = *fs_.GetFileSize(path);
  const std::string block = BlockBytes(11, 4);
  AppendRaw(path, std::string_view(block).substr(0, block.size() / 2));  // crash mid-append
  auto w = MustOpen();
  EXPECT_EQ(*fs_.GetFileSize(path), good);
  EXPECT_TRUE(log_.Contains("truncated torn tail")) << log_.Lines().size();
  CheckAfterReopen(w.get(), 10);
  ASSERT_TRUE(AppendAndCommit(w.get(), 2).ok());
  CheckAfterReopen(w.get(), 12);
}

TEST_F(OutboxFaultTest, BadCrcInTheLastBlockIsATornTail) {
  {
    auto w = MustOpen();
    ASSERT_TRUE(AppendAndCommit(w.get(), 10).ok());
  }
  const std::string path = ActivePath();
  const uint64_t good = *fs_.GetFileSize(path);
  std::string block = BlockBytes(11, 4);
  block[block.size() - 3] ^= 0x40;  // complete, but its payload crc fails
  AppendRaw(path, block);
  auto w = MustOpen();
  EXPECT_EQ(*fs_.GetFileSize(path), good);
  CheckAfterReopen(w.get(), 10);
}

TEST_F(OutboxFaultTest, BadBlockFollowedByValidDataIsCorruptionAndNothingIsCut) {
  {
    auto w = MustOpen();
    ASSERT_TRUE(AppendAndCommit(w.get(), 10).ok());
    ASSERT_TRUE(AppendAndCommit(w.get(), 10).ok());
  }
  const std::string path = ActivePath();
  const uint64_t size = *fs_.GetFileSize(path);
  auto segs = OutboxDir(dir_).ListSegments(&fs_);
  ASSERT_EQ(segs->size(), 1u);
  // Flip a payload bit of the first block (it is followed by the second one).
  ASSERT_TRUE(testing::FlipBit(&fs_, path, 200).ok());
  auto w = Open();
  ASSERT_TRUE(w.status().IsCorruption()) << w.status().ToString();
  EXPECT_NE(w.status().message().find(path + ": byte "), std::string::npos) << w.status().message();
  EXPECT_EQ(*fs_.GetFileSize(path), size);
}

TEST_F(OutboxFaultTest, FlippedBitInASealedSegmentIsCorruptionNamingFileAndOffset) {
  auto w = MustOpen();
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(AppendAndCommit(w.get(), 10).ok());
  auto segs = *OutboxDir(dir_).ListSegments(&fs_);
  ASSERT_GT(segs.size(), 2u);
  const uint64_t size = *fs_.GetFileSize(segs[1].path);
  ASSERT_TRUE(testing::FlipBit(&fs_, segs[1].path, size - 10, 5).ok());
  auto all = ReadAll(&fs_, dir_);
  ASSERT_TRUE(all.status().IsCorruption()) << all.status().ToString();
  EXPECT_NE(all.status().message().find(segs[1].path + ": byte "), std::string::npos)
      << all.status().message();
  // Reading from past the damaged segment still works; the writer goes on.
  EXPECT_TRUE(ReadAll(&fs_, dir_, segs[2].first_offset).ok());
  EXPECT_TRUE(AppendAndCommit(w.get(), 1).ok());
  // A writer reopen does not "repair" sealed data either.
  w.reset();
  w = MustOpen();
  EXPECT_TRUE(ReadAll(&fs_, dir_).status().IsCorruption());
}

TEST_F(OutboxFaultTest, FullDiskFailsCommitWithNoSpaceAndLosesNothing) {
  auto w = MustOpen();
  ASSERT_TRUE(AppendAndCommit(w.get(), 10).ok());
  fs_.SetFreeBytes(3000);
  Status s;
  for (int i = 0; i < 20 && s.ok(); ++i) s = AppendAndCommit(w.get(), 10);
  EXPECT_TRUE(s.IsNoSpace()) << s.ToString();
  const uint64_t durable = w->durable_offset();
  EXPECT_GE(durable, 10u);
  EXPECT_FALSE(AppendAndCommit(w.get(), 1).ok());
  // Space comes back; the writer is reopened.
  w.reset();
  fs_.ClearFaults();
  w = MustOpen();
  CheckAfterReopen(w.get(), durable);
  ASSERT_TRUE(AppendAndCommit(w.get(), 50).ok());
  CheckAfterReopen(w.get(), durable + 50);
}

TEST_F(OutboxFaultTest, FullDiskFromTheStartNeverLosesAnything) {
  {
    auto w = MustOpen();
    ASSERT_TRUE(AppendAndCommit(w.get(), 10).ok());
  }
  fs_.SetFreeBytes(0);
  {
    auto w = Open();  // may open (it needs no new space) but cannot commit
    if (w.ok()) {
      Status s = AppendAndCommit(w->get(), 5);
      EXPECT_TRUE(s.IsNoSpace()) << s.ToString();
    } else {
      EXPECT_TRUE(w.status().IsNoSpace()) << w.status().ToString();
    }
  }
  fs_.ClearFaults();
  auto w = MustOpen();
  CheckAfterReopen(w.get(), 10);
  EXPECT_EQ(w->next_offset(), 11u);
}

TEST_F(OutboxFaultTest, WholeBlockWhoseOffsetsDoNotContinueIsCorruptionNotATornTail) {
  {
    auto w = MustOpen();
    ASSERT_TRUE(AppendAndCommit(w.get(), 10).ok());
  }
  const std::string path = ActivePath();
  const uint64_t size = *fs_.GetFileSize(path);
  AppendRaw(path, BlockBytes(20, 3));
  auto w = Open();
  ASSERT_TRUE(w.status().IsCorruption()) << w.status().ToString();
  EXPECT_NE(w.status().message().find(path + ": byte " + std::to_string(size)), std::string::npos)
      << w.status().message();
  EXPECT_GT(*fs_.GetFileSize(path), size);  // nothing cut
}

}  // namespace
}  // namespace owsync::outbox
