#include "outbox/outbox_reader.h"

#include <gtest/gtest.h>

#include <thread>

#include "outbox/acked_check.h"
#include "outbox/block_compressor.h"
#include "outbox/format.h"
#include "outbox/identity_file.h"
#include "outbox/outbox_dir.h"
#include "outbox/outbox_testing.h"
#include "outbox/outbox_writer.h"
#include "outbox/record_codec.h"
#include "outbox/record_fingerprint.h"
#include "outbox/watermark.h"
#include "util/fake_clock.h"
#include "util/mem_file_system.h"
#include "util/scoped_temp_dir.h"

namespace owsync::outbox {
namespace {

using testing::ReadAll;
using testing::TestRecord;

class OutboxReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_.segment_bytes = 6000;
    options_.block_bytes = 1500;
    auto w = OutboxWriter::Open(&fs_, &clock_, dir_, options_);
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    writer_ = std::move(w).value();
  }
  void Append(uint64_t n) {
    for (uint64_t i = 0; i < n; ++i) {
      Record r = TestRecord(writer_->next_offset(), 200);
      ASSERT_TRUE(writer_->Append(&r).ok());
    }
  }
  void AppendAndCommit(uint64_t n) {
    Append(n);
    ASSERT_TRUE(writer_->Commit().ok());
  }
  std::unique_ptr<OutboxReader> OpenReader(uint64_t from = 0) {
    auto r = OutboxReader::Open(&fs_, dir_, from);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? std::move(r).value() : nullptr;
  }
  // Reads until Next returns false; returns the offsets read.
  static std::vector<uint64_t> Drain(OutboxReader* r) {
    std::vector<uint64_t> offsets;
    Record rec;
    while (true) {
      auto more = r->Next(&rec);
      EXPECT_TRUE(more.ok()) << more.status().ToString();
      if (!more.ok() || !*more) break;
      Record want = TestRecord(rec.offset, 200);
      want.offset = rec.offset;
      EXPECT_EQ(rec, want);
      offsets.push_back(rec.offset);
    }
    return offsets;
  }
  static std::vector<uint64_t> Range(uint64_t from, uint64_t to) {
    std::vector<uint64_t> v;
    for (uint64_t i = from; i <= to; ++i) v.push_back(i);
    return v;
  }

  MemFileSystem fs_;
  FakeClock clock_;
  std::string dir_ = "/ob";
  OutboxWriterOptions options_;
  std::unique_ptr<OutboxWriter> writer_;
};

TEST_F(OutboxReaderTest, AppendedButUncommittedRecordsAreInvisible) {
  AppendAndCommit(10);
  Append(5);
  auto r = OpenReader();
  EXPECT_EQ(Drain(r.get()), Range(1, 10));
  ASSERT_TRUE(writer_->Commit().ok());
  EXPECT_EQ(Drain(r.get()), Range(11, 15));  // the same reader goes on once it is durable
  EXPECT_TRUE(Drain(r.get()).empty());
}

TEST_F(OutboxReaderTest, ReaderNeverPassesTheWatermarkEvenWhenBytesAreOnDisk) {
  AppendAndCommit(10);
  const auto published = Watermark::Read(&fs_, OutboxDir(dir_).DurablePath());
  ASSERT_TRUE(published.ok() && published->has_value());
  AppendAndCommit(10);
  // Put the old watermark back: the bytes of 11..20 are in the file, but not "published".
  auto f = fs_.NewWritableFile(OutboxDir(dir_).DurablePath());
  ASSERT_TRUE((*f)->Append((*published)->EncodeSlot()).ok());
  auto r = OpenReader();
  EXPECT_EQ(Drain(r.get()), Range(1, 10));
}

TEST_F(OutboxReaderTest, FollowsRotationAcrossManySegments) {
  for (int i = 0; i < 15; ++i) AppendAndCommit(13);
  ASSERT_GT(OutboxDir(dir_).ListSegments(&fs_)->size(), 4u);
  auto r = OpenReader();
  EXPECT_EQ(Drain(r.get()), Range(1, 195));
}

TEST_F(OutboxReaderTest, ReadsFromAnyOffsetSkippingRecordsBelowIt) {
  for (int i = 0; i < 10; ++i) AppendAndCommit(13);
  for (uint64_t from : {1u, 2u, 13u, 14u, 50u, 77u, 129u, 130u}) {
    auto r = OpenReader(from);
    EXPECT_EQ(Drain(r.get()), Range(from, 130)) << "from " << from;
  }
  auto past = OpenReader(131);
  EXPECT_TRUE(Drain(past.get()).empty());
  AppendAndCommit(1);
  EXPECT_EQ(Drain(past.get()), Range(131, 131));
}

TEST_F(OutboxReaderTest, DirectoryWithoutIdentityIsNotFound) {
  ASSERT_TRUE(fs_.CreateDirs("/empty").ok());
  EXPECT_TRUE(OutboxReader::Open(&fs_, "/empty", 0).status().IsNotFound());
}

TEST_F(OutboxReaderTest, TornWatermarkFileMeansReadLater) {
  AppendAndCommit(5);
  auto r = OpenReader();
  EXPECT_EQ(Drain(r.get()), Range(1, 5));
  // A DURABLE file caught while being started over / torn by a crash.
  auto f = fs_.NewWritableFile(OutboxDir(dir_).DurablePath());
  ASSERT_TRUE((*f)->Append("OWDM\x01\x00\x00").ok());
  auto fresh = OpenReader();
  EXPECT_FALSE(fresh->has_watermark());
  EXPECT_TRUE(Drain(fresh.get()).empty());
  EXPECT_EQ(*r->RefreshWatermark(), 5u);  // keeps what it knew
  AppendAndCommit(3);                     // the writer starts DURABLE over when it must
  for (int i = 0; i < 120; ++i) AppendAndCommit(1);
  EXPECT_EQ(Drain(fresh.get()), Range(1, 128));
  EXPECT_EQ(Drain(r.get()), Range(6, 128));
}

TEST_F(OutboxReaderTest, WatermarkSlotsDecodeOnlyWhenValid) {
  Watermark w{IdentityFile::Hash("x"), 10, 5, 1234};
  std::string slot = w.EncodeSlot();
  ASSERT_EQ(slot.size(), format::kDurableSlotBytes);
  EXPECT_EQ(Watermark::DecodeSlot(slot), w);
  for (size_t i = 0; i < slot.size(); ++i) {
    std::string bad = slot;
    bad[i] ^= 0x10;
    EXPECT_FALSE(Watermark::DecodeSlot(bad).has_value()) << "byte " << i;
  }
  EXPECT_FALSE(Watermark::DecodeSlot(slot.substr(1)).has_value());
}

TEST_F(OutboxReaderTest, MissingSegmentIsAGap) {
  for (int i = 0; i < 10; ++i) AppendAndCommit(13);
  auto segs = *OutboxDir(dir_).ListSegments(&fs_);
  ASSERT_GE(segs.size(), 3u);
  ASSERT_TRUE(fs_.DeleteFile(segs[1].path).ok());
  auto r = OpenReader();
  Record rec;
  Status s;
  while (true) {
    auto more = r->Next(&rec);
    if (!more.ok()) {
      s = more.status();
      break;
    }
    ASSERT_TRUE(*more) << "must not end quietly at a gap";
  }
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_NE(s.message().find("gap"), std::string::npos) << s.message();
  // The error is sticky.
  EXPECT_TRUE(r->Next(&rec).status().IsCorruption());
}

TEST_F(OutboxReaderTest, ReadsWhileAWriterCommitsOnARealDisk) {
  auto tmp = ScopedTempDir::Create();
  ASSERT_TRUE(tmp.ok());
  auto posix = NewPosixFileSystem();
  const std::string dir = tmp->Child("ob");
  auto w = OutboxWriter::Open(posix.get(), &clock_, dir, options_);
  ASSERT_TRUE(w.ok());
  constexpr uint64_t kTotal = 700;
  std::thread writer([&] {
    for (uint64_t i = 1; i <= kTotal; ++i) {
      Record r = TestRecord(i, 200);
      ASSERT_TRUE((*w)->Append(&r).ok());
      if (i % 7 == 0 || i == kTotal) {
        ASSERT_TRUE((*w)->Commit().ok());
      }
    }
  });
  auto r = OutboxReader::Open(posix.get(), dir, 0);
  ASSERT_TRUE(r.ok());
  uint64_t next = 1;
  Record rec;
  while (next <= kTotal) {
    auto more = (*r)->Next(&rec);
    ASSERT_TRUE(more.ok()) << more.status().ToString();
    if (!*more) {
      std::this_thread::yield();
      continue;
    }
    ASSERT_EQ(rec.offset, next);
    Record want = TestRecord(next, 200);
    want.offset = next;
    ASSERT_EQ(rec, want);
    ++next;
  }
  writer.join();
}

// A valid block (good crcs) appended to the active segment, holding records first..first+n-1.
void AppendBlock(FileSystem* fs, const std::string& path, uint64_t first, uint32_t n) {
  std::string recs;
  for (uint32_t i = 0; i < n; ++i) AppendFramedRecord(TestRecord(first + i, 200), &recs);
  BlockCompressor c(1);
  BuiltBlock b;
  ASSERT_TRUE(c.Build(recs, n, first, &b).ok());
  auto f = fs->NewAppendableFile(path);
  ASSERT_TRUE((*f)->Append(std::string(b.head) + std::string(b.tail)).ok());
}

TEST_F(OutboxReaderTest, OffsetsThatDoNotContinueAreCorruption) {
  AppendAndCommit(10);
  writer_.reset();
  const std::string path = OutboxDir(dir_).ListSegments(&fs_)->back().path;
  AppendBlock(&fs_, path, 16, 3);  // 11..15 missing
  OutboxReaderOptions options;
  options.ignore_watermark = true;
  auto all = ReadAll(&fs_, dir_, 0, options);
  ASSERT_TRUE(all.status().IsCorruption()) << all.status().ToString();
  EXPECT_NE(all.status().message().find("block starts at offset 16, expected 11"),
            std::string::npos)
      << all.status().message();
}

TEST_F(OutboxReaderTest, IgnoringTheWatermarkReadsCompleteBlocksAndStopsAtATornTail) {
  AppendAndCommit(10);
  writer_.reset();
  const std::string path = OutboxDir(dir_).ListSegments(&fs_)->back().path;
  AppendBlock(&fs_, path, 11, 5);  // complete, never published
  auto f = fs_.NewAppendableFile(path);
  ASSERT_TRUE((*f)->Append("OWBK\x05").ok());   // torn
  EXPECT_EQ(ReadAll(&fs_, dir_)->size(), 10u);  // with the watermark: only what is durable
  OutboxReaderOptions options;
  options.ignore_watermark = true;
  auto all = ReadAll(&fs_, dir_, 0, options);
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_EQ(all->size(), 15u);
}

TEST_F(OutboxReaderTest, AStartPastTheEndIsRefusedNotSkippedLater) {
  AppendAndCommit(10);
  auto r = OpenReader(30);
  ASSERT_NE(r, nullptr);
  Record rec;
  auto next = r->Next(&rec);
  ASSERT_FALSE(next.ok()) << "records 11..29 would be skipped once written";
  EXPECT_EQ(next.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(next.status().message().find("ends at offset 10, below the start offset 30"),
            std::string::npos)
      << next.status().ToString();
  // One past the end is where a caught-up reader waits.
  auto caught_up = OpenReader(11);
  ASSERT_NE(caught_up, nullptr);
  EXPECT_TRUE(Drain(caught_up.get()).empty());
  AppendAndCommit(3);
  EXPECT_EQ(Drain(caught_up.get()), Range(11, 13));
  // The same without the watermark (offline tools).
  OutboxReaderOptions all;
  all.ignore_watermark = true;
  auto offline = OutboxReader::Open(&fs_, dir_, 30, all);
  ASSERT_TRUE(offline.ok());
  EXPECT_EQ((*offline)->Next(&rec).status().code(), StatusCode::kFailedPrecondition);
}

TEST_F(OutboxReaderTest, ADurableWatermarkThatGoesBackIsRefused) {
  AppendAndCommit(10);
  const std::string before = *ReadFileToString(&fs_, OutboxDir(dir_).DurablePath());
  auto r = OpenReader();
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(Drain(r.get()), Range(1, 10));
  AppendAndCommit(5);
  EXPECT_EQ(Drain(r.get()), Range(11, 15));
  // The directory is put back as it was (a restore under a running reader).
  ASSERT_TRUE(WriteFileAtomically(&fs_, OutboxDir(dir_).DurablePath(), before).ok());
  auto mark = r->RefreshWatermark();
  ASSERT_FALSE(mark.ok());
  EXPECT_EQ(mark.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(mark.status().message().find("went back from 15 to 10"), std::string::npos)
      << mark.status().ToString();
}

TEST_F(OutboxReaderTest, FingerprintsTellRecordsApartAndAreStable) {
  AppendAndCommit(5);
  auto a = OpenReader(3);
  auto b = OpenReader(3);
  Record ra, rb;
  ASSERT_TRUE(*a->Next(&ra));
  ASSERT_TRUE(*b->Next(&rb));
  EXPECT_EQ(a->fingerprint(), b->fingerprint());
  ASSERT_TRUE(*a->Next(&ra));
  EXPECT_NE(a->fingerprint(), b->fingerprint());
  EXPECT_EQ(FingerprintHex(0x00ab00cd00ef0012ull), "00ab00cd00ef0012");
  EXPECT_TRUE(IsFingerprintHex("00ab00cd00ef0012"));
  EXPECT_FALSE(IsFingerprintHex("00AB00CD00EF0012"));
  EXPECT_FALSE(IsFingerprintHex("00ab"));
}

TEST_F(OutboxReaderTest, AckedCheckTellsHeldFromRestoredOutboxes) {
  AppendAndCommit(20);
  auto r = OpenReader(12);
  Record rec;
  ASSERT_TRUE(*r->Next(&rec));
  const std::string held = FingerprintHex(r->fingerprint());
  auto ok = AckedCheck::Run(&fs_, dir_, 12, held);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->verdict, AckedVerdict::kHeld);
  auto differs = AckedCheck::Run(&fs_, dir_, 12, "0000000000000001");
  ASSERT_TRUE(differs.ok());
  EXPECT_EQ(differs->verdict, AckedVerdict::kDiffers);
  EXPECT_NE(AckedCheck::Describe(*differs, 12, "id", "0000000000000001").find("another record"),
            std::string::npos);
  auto beyond = AckedCheck::Run(&fs_, dir_, 25, held);
  ASSERT_TRUE(beyond.ok());
  EXPECT_EQ(beyond->verdict, AckedVerdict::kBeyondEnd);
  EXPECT_EQ(beyond->data_end, 20u);
  EXPECT_EQ(AckedCheck::Run(&fs_, dir_, 0, "")->verdict, AckedVerdict::kHeld);
  EXPECT_EQ(AckedCheck::Run(&fs_, dir_, 20, "")->verdict, AckedVerdict::kHeld);
}

}  // namespace
}  // namespace owsync::outbox
