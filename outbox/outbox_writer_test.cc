#include "outbox/outbox_writer.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "outbox/acked_file.h"
#include "outbox/format.h"
#include "outbox/identity_file.h"
#include "outbox/outbox_dir.h"
#include "outbox/outbox_testing.h"
#include "outbox/record_fingerprint.h"
#include "outbox/segment_reader.h"
#include "outbox/segment_writer.h"
#include "util/fake_clock.h"
#include "util/logger.h"
#include "util/mem_file_system.h"
#include "util/scoped_temp_dir.h"

namespace owsync::outbox {
namespace {

using testing::ReadAll;
using testing::TestRecord;

class OutboxWriterTest : public ::testing::Test {
 protected:
  Result<std::unique_ptr<OutboxWriter>> OpenWriter(FileSystem* fs = nullptr) {
    return OutboxWriter::Open(fs ? fs : &fs_, &clock_, dir_, options_);
  }
  // Appends records first..first+n-1 (TestRecord) and commits.
  void AppendAndCommit(OutboxWriter* w, uint64_t n, size_t payload = 100) {
    for (uint64_t i = 0; i < n; ++i) {
      Record r = TestRecord(w->next_offset(), payload);
      auto off = w->Append(&r);
      ASSERT_TRUE(off.ok()) << off.status().ToString();
    }
    Status s = w->Commit();
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  // Checks that the outbox holds exactly TestRecord(from..to).
  void ExpectRecords(uint64_t from, uint64_t to, size_t payload = 100) {
    auto all = ReadAll(&fs_, dir_, from);
    ASSERT_TRUE(all.ok()) << all.status().ToString();
    ASSERT_EQ(all->size(), to - from + 1);
    for (uint64_t i = from; i <= to; ++i) {
      Record want = TestRecord(i, payload);
      want.offset = i;
      ASSERT_EQ((*all)[i - from], want) << "offset " << i;
    }
  }
  size_t SegmentCount() { return OutboxDir(dir_).ListSegments(&fs_)->size(); }

  MemFileSystem fs_;
  FakeClock clock_;
  std::string dir_ = "/data/outbox";
  OutboxWriterOptions options_;
};

TEST_F(OutboxWriterTest, NewOutboxHasIdentityAndStartsAtOffsetOne) {
  options_.database_generation = "gen-1";
  auto w = OpenWriter();
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ((*w)->next_offset(), 1u);
  EXPECT_EQ((*w)->durable_offset(), 0u);
  EXPECT_EQ((*w)->outbox_id().size(), 36u);  // UUID text
  auto id = IdentityFile::Read(&fs_, OutboxDir(dir_).IdentityPath());
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(id->outbox_id, (*w)->outbox_id());
  EXPECT_EQ(id->database_generation, "gen-1");
  EXPECT_EQ(SegmentCount(), 1u);
  EXPECT_TRUE(ReadAll(&fs_, dir_)->empty());
}

TEST_F(OutboxWriterTest, OutboxIdsAreRandom) {
  auto a = IdentityFile::NewOutboxId();
  auto b = IdentityFile::NewOutboxId();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(*a, *b);
  EXPECT_EQ((*a)[14], '4');  // version 4
}

TEST_F(OutboxWriterTest, AppendAssignsContiguousOffsetsAndCommitMakesThemDurable) {
  auto w = OpenWriter();
  ASSERT_TRUE(w.ok());
  Record r = TestRecord(1);
  EXPECT_EQ(*(*w)->Append(&r), 1u);
  EXPECT_EQ(r.offset, 1u);
  Record r2 = TestRecord(2);
  EXPECT_EQ(*(*w)->Append(&r2), 2u);
  EXPECT_GT((*w)->buffered_bytes(), 0u);
  EXPECT_EQ((*w)->durable_offset(), 0u);
  ASSERT_TRUE((*w)->Commit().ok());
  EXPECT_EQ((*w)->durable_offset(), 2u);
  EXPECT_EQ((*w)->buffered_bytes(), 0u);
  ExpectRecords(1, 2);
}

TEST_F(OutboxWriterTest, RoundTripAcrossRotations) {
  options_.segment_bytes = 20000;
  options_.block_bytes = 4000;
  auto w = OpenWriter();
  ASSERT_TRUE(w.ok());
  for (int round = 0; round < 20; ++round) AppendAndCommit(w->get(), 37, 300);
  EXPECT_EQ((*w)->durable_offset(), 740u);
  EXPECT_GT(SegmentCount(), 5u);
  ExpectRecords(1, 740, 300);
  ExpectRecords(333, 740, 300);  // seeks into the middle of a block of a middle segment
  // Every segment but the last is at most segment_bytes (no single block exceeds it here).
  auto segs = OutboxDir(dir_).ListSegments(&fs_);
  for (size_t i = 0; i + 1 < segs->size(); ++i) {
    EXPECT_LE(*fs_.GetFileSize((*segs)[i].path), options_.segment_bytes);
  }
}

TEST_F(OutboxWriterTest, ReopenContinuesAfterTheLastDurableRecord) {
  std::string id;
  {
    auto w = OpenWriter();
    ASSERT_TRUE(w.ok());
    id = (*w)->outbox_id();
    AppendAndCommit(w->get(), 10);
    Record lost = TestRecord(11);
    ASSERT_TRUE((*w)->Append(&lost).ok());  // never committed
  }
  auto w = OpenWriter();
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ((*w)->outbox_id(), id);
  EXPECT_EQ((*w)->next_offset(), 11u);
  EXPECT_EQ((*w)->durable_offset(), 10u);
  AppendAndCommit(w->get(), 5);
  ExpectRecords(1, 15);
}

TEST_F(OutboxWriterTest, SecondWriterIsBusy) {
  auto first = OpenWriter();
  ASSERT_TRUE(first.ok());
  auto second = OpenWriter();
  EXPECT_EQ(second.status().code(), StatusCode::kBusy) << second.status().ToString();
  first->reset();
  EXPECT_TRUE(OpenWriter().ok());
}

TEST_F(OutboxWriterTest, SecondWriterIsBusyOnARealDisk) {
  auto tmp = ScopedTempDir::Create();
  ASSERT_TRUE(tmp.ok());
  auto posix = NewPosixFileSystem();
  dir_ = tmp->Child("outbox");
  auto first = OpenWriter(posix.get());
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  auto second = OpenWriter(posix.get());
  EXPECT_EQ(second.status().code(), StatusCode::kBusy);
}

TEST_F(OutboxWriterTest, FilesAreOwnerOnly) {
  auto tmp = ScopedTempDir::Create();
  ASSERT_TRUE(tmp.ok());
  auto posix = NewPosixFileSystem();
  dir_ = tmp->Child("outbox");
  auto w = OpenWriter(posix.get());
  ASSERT_TRUE(w.ok());
  AppendAndCommit(w->get(), 3);
  ASSERT_TRUE(AckedFile::Write(posix.get(), dir_, {(*w)->outbox_id(), 1, ""}).ok());
  auto names = posix->GetChildren(dir_);
  ASSERT_TRUE(names.ok());
  EXPECT_GE(names->size(), 5u);  // LOCK IDENTITY DURABLE ACKED and a segment
  for (const std::string& name : *names) {
    struct stat st {};
    ASSERT_EQ(::stat(JoinPath(dir_, name).c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u) << name;
  }
}

TEST_F(OutboxWriterTest, MismatchedOutboxIdIsFailedPrecondition) {
  ASSERT_TRUE(OpenWriter().ok());
  options_.outbox_id = "someone-else";
  auto w = OpenWriter();
  EXPECT_EQ(w.status().code(), StatusCode::kFailedPrecondition);
}

TEST_F(OutboxWriterTest, GivenOutboxIdIsUsedForANewOutbox) {
  options_.outbox_id = "tenant-acme-1";
  auto w = OpenWriter();
  ASSERT_TRUE(w.ok());
  EXPECT_EQ((*w)->outbox_id(), "tenant-acme-1");
}

TEST_F(OutboxWriterTest, ExistingOutboxKeepsItsDatabaseGeneration) {
  options_.database_generation = "g1";
  ASSERT_TRUE(OpenWriter().ok());
  options_.database_generation = "g2";
  auto w = OpenWriter();
  ASSERT_TRUE(w.ok());
  EXPECT_EQ((*w)->database_generation(), "g1");
}

TEST_F(OutboxWriterTest, HugeRecordGetsABlockOfItsOwn) {
  options_.block_bytes = 64 << 10;
  auto w = OpenWriter();
  ASSERT_TRUE(w.ok());
  Record small1 = TestRecord(1), small2 = TestRecord(3);
  Record big = TestRecord(2);
  big.row[3] = Value::Text(std::string(64u << 20, 'x'));
  ASSERT_TRUE((*w)->Append(&small1).ok());
  ASSERT_TRUE((*w)->Append(&big).ok());
  ASSERT_TRUE((*w)->Append(&small2).ok());
  ASSERT_TRUE((*w)->Commit().ok());
  auto segs = OutboxDir(dir_).ListSegments(&fs_);
  ASSERT_EQ(segs->size(), 1u);
  auto r = SegmentReader::Open(&fs_, (*segs)[0].path);
  ASSERT_TRUE(r.ok());
  std::vector<uint32_t> counts;
  for (uint64_t pos = (*r)->data_start();;) {
    auto at = (*r)->ReadBlockHeader(pos, *(*r)->FileSize());
    if (at->state == BlockState::kEnd) break;
    ASSERT_EQ(at->state, BlockState::kOk);
    counts.push_back(at->header.record_count);
    pos = at->next;
  }
  EXPECT_EQ(counts, (std::vector<uint32_t>{1, 1, 1}));
  auto all = ReadAll(&fs_, dir_);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[1], big);
}

TEST_F(OutboxWriterTest, RejectsUndefinedRecordTypes) {
  auto w = OpenWriter();
  ASSERT_TRUE(w.ok());
  Record r = TestRecord(1);
  r.type = static_cast<RecordType>(9);
  EXPECT_EQ((*w)->Append(&r).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ((*w)->next_offset(), 1u);
}

TEST_F(OutboxWriterTest, RetentionDeletesOnlySealedSegmentsBelowTheAckedRecord) {
  options_.segment_bytes = 8000;
  options_.block_bytes = 2000;
  auto w = OpenWriter();
  ASSERT_TRUE(w.ok());
  for (int i = 0; i < 10; ++i) AppendAndCommit(w->get(), 20, 300);
  auto segs = *OutboxDir(dir_).ListSegments(&fs_);
  ASSERT_GT(segs.size(), 4u);
  // Nothing without ACKED.
  EXPECT_EQ(*(*w)->ApplyRetention(), 0u);
  // ACKED at the last record of segment 2: only segment 1 goes; the acknowledged record stays
  // (a resuming shipper compares it with its fingerprint in PostgreSQL).
  const uint64_t end_of_second = segs[2].first_offset - 1;
  ASSERT_TRUE(AckedFile::Write(&fs_, dir_, {(*w)->outbox_id(), end_of_second, ""}).ok());
  const uint64_t size0 = *fs_.GetFileSize(segs[0].path);
  EXPECT_EQ(*(*w)->ApplyRetention(), size0);
  EXPECT_FALSE(fs_.FileExists(segs[0].path));
  EXPECT_TRUE(fs_.FileExists(segs[1].path));
  // ACKED past it: segment 2 goes too.
  ASSERT_TRUE(AckedFile::Write(&fs_, dir_, {(*w)->outbox_id(), end_of_second + 1, ""}).ok());
  EXPECT_GT(*(*w)->ApplyRetention(), 0u);
  EXPECT_FALSE(fs_.FileExists(segs[1].path));
  EXPECT_TRUE(fs_.FileExists(segs[2].path));
  ExpectRecords(end_of_second + 1, 200, 300);
  // A reader asking for deleted records is told so.
  auto r = OutboxReader::Open(&fs_, dir_, 1);
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  // Everything acked: the active segment stays.
  ASSERT_TRUE(AckedFile::Write(&fs_, dir_, {(*w)->outbox_id(), 200, ""}).ok());
  ASSERT_TRUE((*w)->ApplyRetention().ok());
  EXPECT_EQ(SegmentCount(), 1u);
  AppendAndCommit(w->get(), 1, 300);
  ExpectRecords(201, 201, 300);
}

TEST_F(OutboxWriterTest, RetentionRefusesAnAckedRecordThisOutboxHoldsDifferently) {
  options_.segment_bytes = 4000;
  auto w = OpenWriter();
  ASSERT_TRUE(w.ok());
  for (int i = 0; i < 5; ++i) AppendAndCommit(w->get(), 20, 300);
  // The record at offset 50 as PostgreSQL acknowledged it: its fingerprint.
  auto reader = OutboxReader::Open(&fs_, dir_, 50);
  ASSERT_TRUE(reader.ok());
  Record rec;
  ASSERT_TRUE(*(*reader)->Next(&rec));
  const std::string held = FingerprintHex((*reader)->fingerprint());
  ASSERT_TRUE(AckedFile::Write(&fs_, dir_, {(*w)->outbox_id(), 50, held}).ok());
  EXPECT_TRUE((*w)->ApplyRetention().ok());
  // Another record was acknowledged at 50 (this outbox is an older copy that went on).
  ASSERT_TRUE(AckedFile::Write(&fs_, dir_, {(*w)->outbox_id(), 50, "0123456789abcdef"}).ok());
  auto refused = (*w)->ApplyRetention();
  EXPECT_EQ(refused.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find("another record"), std::string::npos)
      << refused.status().ToString();
}

TEST_F(OutboxWriterTest, RetentionRefusesAForeignOutboxId) {
  options_.segment_bytes = 4000;
  auto w = OpenWriter();
  ASSERT_TRUE(w.ok());
  for (int i = 0; i < 5; ++i) AppendAndCommit(w->get(), 20, 300);
  const size_t before = SegmentCount();
  ASSERT_TRUE(AckedFile::Write(&fs_, dir_, {"other-outbox", 1000, ""}).ok());
  auto freed = (*w)->ApplyRetention();
  EXPECT_EQ(freed.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(SegmentCount(), before);
}

TEST_F(OutboxWriterTest, RetentionRefusesAnAckBeyondTheDurableOffset) {
  options_.segment_bytes = 4000;
  auto w = OpenWriter();
  ASSERT_TRUE(w.ok());
  for (int i = 0; i < 5; ++i) AppendAndCommit(w->get(), 20, 300);
  const size_t before = SegmentCount();
  ASSERT_TRUE(AckedFile::Write(&fs_, dir_, {(*w)->outbox_id(), 101, ""}).ok());
  EXPECT_EQ((*w)->ApplyRetention().status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(SegmentCount(), before);
}

TEST_F(OutboxWriterTest, DiskUsageCountsSegmentFiles) {
  auto w = OpenWriter();
  ASSERT_TRUE(w.ok());
  AppendAndCommit(w->get(), 50);
  const auto segs = *OutboxDir(dir_).ListSegments(&fs_);
  EXPECT_EQ(*(*w)->DiskUsage(), *fs_.GetFileSize(segs[0].path));
}

TEST_F(OutboxWriterTest, StartNewGenerationKeepsOffsetsIncreasingAndMovesOldSegmentsAside) {
  options_.segment_bytes = 6000;
  options_.database_generation = "db-1";
  auto w = OpenWriter();
  ASSERT_TRUE(w.ok());
  const std::string old_id = (*w)->outbox_id();
  for (int i = 0; i < 4; ++i) AppendAndCommit(w->get(), 20, 300);
  const auto old_segs = *OutboxDir(dir_).ListSegments(&fs_);
  Record pending = TestRecord(81, 300);
  ASSERT_TRUE((*w)->Append(&pending).ok());  // committed by StartNewGeneration
  auto old_reader = OutboxReader::Open(&fs_, dir_, 1);
  ASSERT_TRUE(old_reader.ok());

  ASSERT_TRUE((*w)->StartNewGeneration("db-2").ok());
  EXPECT_NE((*w)->outbox_id(), old_id);
  EXPECT_EQ((*w)->database_generation(), "db-2");
  EXPECT_EQ((*w)->next_offset(), 82u);
  EXPECT_EQ((*w)->durable_offset(), 81u);
  auto id = IdentityFile::Read(&fs_, OutboxDir(dir_).IdentityPath());
  EXPECT_EQ(*id, (Identity{(*w)->outbox_id(), "db-2"}));
  EXPECT_EQ(SegmentCount(), 1u);
  const std::string retired = OutboxDir(dir_).RetiredDir(old_id);
  for (const SegmentFile& s : old_segs) {
    EXPECT_TRUE(fs_.FileExists(JoinPath(retired, OutboxDir::SegmentFileName(s.first_offset))));
  }
  // The new generation reads from its first offset; the old reader is told to reopen.
  AppendAndCommit(w->get(), 3, 300);
  auto all = ReadAll(&fs_, dir_);
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ(all->front().offset, 82u);
  Record rec;
  Status s;
  while (true) {
    auto more = (*old_reader)->Next(&rec);
    if (!more.ok()) {
      s = more.status();
      break;
    }
    ASSERT_TRUE(*more) << "the old reader must not just stop";
  }
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << s.ToString();
  // Reopening keeps the new generation.
  w->reset();
  auto again = OpenWriter();
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ((*again)->database_generation(), "db-2");
  EXPECT_EQ((*again)->next_offset(), 85u);
}

TEST_F(OutboxWriterTest, StartNewGenerationOnAnEmptySegmentSkipsOneOffset) {
  auto w = OpenWriter();
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->StartNewGeneration("g2").ok());
  ASSERT_TRUE((*w)->StartNewGeneration("g3").ok());
  EXPECT_EQ((*w)->next_offset(), 3u);
  AppendAndCommit(w->get(), 2);
  auto all = ReadAll(&fs_, dir_);
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].offset, 3u);
}

TEST_F(OutboxWriterTest, OpenRemovesANewGenerationSegmentThatIdentityNeverAdopted) {
  std::string id;
  {
    auto w = OpenWriter();
    ASSERT_TRUE(w.ok());
    id = (*w)->outbox_id();
    AppendAndCommit(w->get(), 10);
  }
  // As if StartNewGeneration crashed right after creating the new segment.
  ASSERT_TRUE(SegmentWriter::Create(&fs_, OutboxDir(dir_), {11, "new-id", "g2"}).ok());
  auto w = OpenWriter();
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ((*w)->outbox_id(), id);
  EXPECT_FALSE(fs_.FileExists(OutboxDir(dir_).SegmentPath(11)));
  AppendAndCommit(w->get(), 1);
  ExpectRecords(1, 11);
}

TEST_F(OutboxWriterTest, OpenFinishesRetiringTheOldGeneration) {
  std::string old_id;
  {
    auto w = OpenWriter();
    ASSERT_TRUE(w.ok());
    old_id = (*w)->outbox_id();
    AppendAndCommit(w->get(), 10);
  }
  // As if StartNewGeneration crashed after replacing IDENTITY, before moving old segments.
  ASSERT_TRUE(SegmentWriter::Create(&fs_, OutboxDir(dir_), {11, "new-id", "g2"}).ok());
  ASSERT_TRUE(IdentityFile::Write(&fs_, OutboxDir(dir_).IdentityPath(), {"new-id", "g2"}).ok());
  auto w = OpenWriter();
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ((*w)->outbox_id(), "new-id");
  EXPECT_EQ((*w)->next_offset(), 11u);
  EXPECT_EQ(SegmentCount(), 1u);
  EXPECT_TRUE(
      fs_.FileExists(JoinPath(OutboxDir(dir_).RetiredDir(old_id), OutboxDir::SegmentFileName(1))));
}

TEST_F(OutboxWriterTest, IdentityWithoutSegmentsIsCorruption) {
  {
    auto w = OpenWriter();
    ASSERT_TRUE(w.ok());
  }
  ASSERT_TRUE(fs_.DeleteFile(OutboxDir(dir_).SegmentPath(1)).ok());
  EXPECT_TRUE(OpenWriter().status().IsCorruption());
}

TEST_F(OutboxWriterTest, SegmentsWithoutIdentityAreRefused) {
  {
    auto w = OpenWriter();
    ASSERT_TRUE(w.ok());
    AppendAndCommit(w->get(), 3);
  }
  ASSERT_TRUE(fs_.DeleteFile(OutboxDir(dir_).IdentityPath()).ok());
  EXPECT_EQ(OpenWriter().status().code(), StatusCode::kFailedPrecondition);
}

TEST_F(OutboxWriterTest, InterruptedCreationIsRedone) {
  ASSERT_TRUE(fs_.CreateDirs(dir_).ok());
  ASSERT_TRUE(SegmentWriter::Create(&fs_, OutboxDir(dir_), {1, "half-made", ""}).ok());
  auto w = OpenWriter();
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  AppendAndCommit(w->get(), 2);
  ExpectRecords(1, 2);
}

TEST_F(OutboxWriterTest, WatermarkFileStaysSmall) {
  auto w = OpenWriter();
  ASSERT_TRUE(w.ok());
  for (int i = 0; i < 300; ++i) {
    AppendAndCommit(w->get(), 1);
    ASSERT_LE(*fs_.GetFileSize(OutboxDir(dir_).DurablePath()), format::kDurableFileMaxBytes);
  }
  ExpectRecords(1, 300);
}

}  // namespace
}  // namespace owsync::outbox
