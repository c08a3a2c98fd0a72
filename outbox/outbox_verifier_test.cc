#include "outbox/outbox_verifier.h"

#include <gtest/gtest.h>

#include <map>

#include "outbox/identity_file.h"
#include "outbox/outbox_dir.h"
#include "outbox/outbox_stats.h"
#include "outbox/outbox_testing.h"
#include "outbox/outbox_writer.h"
#include "util/fake_clock.h"
#include "util/mem_file_system.h"

namespace owsync::outbox {
namespace {

class OutboxVerifierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    OutboxWriterOptions options;
    options.segment_bytes = 6000;
    options.block_bytes = 1500;
    options.database_generation = "gen-7";
    auto w = OutboxWriter::Open(&fs_, &clock_, dir_, options);
    ASSERT_TRUE(w.ok());
    writer_ = std::move(w).value();
    for (uint64_t i = 1; i <= 200; ++i) {
      Record r = testing::TestRecord(i, 300);
      ASSERT_TRUE(writer_->Append(&r).ok());
      if (i % 25 == 0) {
        ASSERT_TRUE(writer_->Commit().ok());
      }
    }
    segs_ = *OutboxDir(dir_).ListSegments(&fs_);
    ASSERT_GT(segs_.size(), 3u);
  }
  VerifyReport Verify() {
    auto r = OutboxVerifier::Verify(&fs_, dir_);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : VerifyReport{};
  }
  std::map<std::string, std::string> Snapshot() {
    std::map<std::string, std::string> out;
    for (const std::string& f : fs_.AllFiles()) out[f] = *fs_.Contents(f);
    return out;
  }
  void AppendRaw(const std::string& path, std::string_view bytes) {
    auto f = fs_.NewAppendableFile(path);
    ASSERT_TRUE((*f)->Append(bytes).ok());
  }

  MemFileSystem fs_;
  FakeClock clock_;
  std::string dir_ = "/ob";
  std::unique_ptr<OutboxWriter> writer_;
  std::vector<SegmentFile> segs_;
};

TEST_F(OutboxVerifierTest, SoundOutboxVerifiesWithoutChangingAByte) {
  ASSERT_TRUE(AckedFile::Write(&fs_, dir_, {writer_->outbox_id(), 120, ""}).ok());
  const auto before = Snapshot();
  const VerifyReport r = Verify();
  EXPECT_TRUE(r.ok) << r.error;
  EXPECT_TRUE(r.notes.empty()) << r.notes.front();
  EXPECT_EQ(r.outbox_id, writer_->outbox_id());
  EXPECT_EQ(r.database_generation, "gen-7");
  EXPECT_EQ(r.segments, segs_.size());
  EXPECT_EQ(r.records, 200u);
  EXPECT_EQ(r.first_offset, 1u);
  EXPECT_EQ(r.last_offset, 200u);
  ASSERT_TRUE(r.watermark.has_value());
  EXPECT_EQ(r.watermark->durable_offset, 200u);
  ASSERT_TRUE(r.acked.has_value());
  EXPECT_EQ(r.acked->acked_offset, 120u);
  EXPECT_EQ(Snapshot(), before);
}

TEST_F(OutboxVerifierTest, FlippedBitInASealedSegmentNamesFileAndOffset) {
  const uint64_t size = *fs_.GetFileSize(segs_[1].path);
  ASSERT_TRUE(testing::FlipBit(&fs_, segs_[1].path, size - 1).ok());
  const VerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error.rfind(segs_[1].path + ": byte ", 0), 0u) << r.error;
  EXPECT_NE(r.error.find("crc"), std::string::npos) << r.error;
}

TEST_F(OutboxVerifierTest, TornTailPastTheWatermarkIsOnlyANote) {
  AppendRaw(segs_.back().path, std::string("OWBK\x10\x00\x00", 7));
  const VerifyReport r = Verify();
  EXPECT_TRUE(r.ok) << r.error;
  ASSERT_EQ(r.notes.size(), 1u);
  EXPECT_NE(r.notes[0].find("torn tail of 7 bytes"), std::string::npos) << r.notes[0];
}

TEST_F(OutboxVerifierTest, DamageBelowTheWatermarkIsAnError) {
  const std::string path = segs_.back().path;
  const uint64_t size = *fs_.GetFileSize(path);
  ASSERT_TRUE(fs_.Truncate(path, size - 5).ok());
  const VerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("below the durable watermark"), std::string::npos) << r.error;
}

TEST_F(OutboxVerifierTest, MissingSegmentIsAGap) {
  ASSERT_TRUE(fs_.DeleteFile(segs_[2].path).ok());
  const VerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("gap"), std::string::npos) << r.error;
  EXPECT_EQ(r.error.rfind(segs_[3].path, 0), 0u) << r.error;
}

TEST_F(OutboxVerifierTest, HeaderThatDisagreesWithIdentityIsAnError) {
  ASSERT_TRUE(
      IdentityFile::Write(&fs_, OutboxDir(dir_).IdentityPath(), {writer_->outbox_id(), "gen-8"})
          .ok());
  const VerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("IDENTITY says"), std::string::npos) << r.error;
  EXPECT_EQ(r.error.rfind(segs_[0].path + ": byte 24", 0), 0u) << r.error;
}

TEST_F(OutboxVerifierTest, MissingIdentityIsAnError) {
  ASSERT_TRUE(fs_.DeleteFile(OutboxDir(dir_).IdentityPath()).ok());
  const VerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("IDENTITY: missing"), std::string::npos) << r.error;
}

TEST_F(OutboxVerifierTest, MissingDirectoryIsNotFound) {
  EXPECT_TRUE(OutboxVerifier::Verify(&fs_, "/nowhere").status().IsNotFound());
}

TEST_F(OutboxVerifierTest, AckedChecks) {
  ASSERT_TRUE(AckedFile::Write(&fs_, dir_, {"another-outbox", 5, ""}).ok());
  VerifyReport r = Verify();
  EXPECT_TRUE(r.ok) << r.error;
  ASSERT_EQ(r.notes.size(), 1u);
  EXPECT_NE(r.notes[0].find("another-outbox"), std::string::npos);

  ASSERT_TRUE(AckedFile::Write(&fs_, dir_, {writer_->outbox_id(), 201, ""}).ok());
  r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("acknowledges offset 201"), std::string::npos) << r.error;

  // Retention past what was acknowledged: the first segment is gone, ACKED says 0.
  ASSERT_TRUE(fs_.DeleteFile(segs_[0].path).ok());
  ASSERT_TRUE(AckedFile::Write(&fs_, dir_, {writer_->outbox_id(), 0, ""}).ok());
  r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("unacknowledged records were deleted"), std::string::npos) << r.error;
}

TEST_F(OutboxVerifierTest, WatermarkThatPromisesMoreThanTheDataIsAnError) {
  const std::string path = segs_.back().path;
  const uint64_t size = *fs_.GetFileSize(path);
  // Cut the last block off exactly at a block boundary below the watermark: data is "clean",
  // but the watermark promises more.
  Watermark w = *Watermark::Read(&fs_, OutboxDir(dir_).DurablePath()).value();
  w.segment_position = size + 1000;
  auto f = fs_.NewWritableFile(OutboxDir(dir_).DurablePath());
  ASSERT_TRUE((*f)->Append(w.EncodeSlot()).ok());
  const VerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("not at the end of a valid block"), std::string::npos) << r.error;
}

TEST_F(OutboxVerifierTest, StatsCountFromHeaders) {
  ASSERT_TRUE(AckedFile::Write(&fs_, dir_, {writer_->outbox_id(), 50, ""}).ok());
  auto s = OutboxStats::Collect(&fs_, dir_);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->outbox_id, writer_->outbox_id());
  EXPECT_EQ(s->segments, segs_.size());
  EXPECT_EQ(s->records, 200u);
  EXPECT_EQ(s->first_offset, 1u);
  EXPECT_EQ(s->last_offset, 200u);
  EXPECT_EQ(s->bytes_on_disk, *writer_->DiskUsage());
  EXPECT_GT(s->raw_payload_bytes, s->stored_payload_bytes);
  EXPECT_GT(s->stored_payload_bytes, 0u);
  ASSERT_TRUE(s->watermark.has_value());
  EXPECT_EQ(s->watermark->durable_offset, 200u);
  EXPECT_EQ(s->acked->acked_offset, 50u);
  EXPECT_EQ(s->retired_generations, 0u);
  ASSERT_TRUE(writer_->StartNewGeneration("gen-8").ok());
  s = OutboxStats::Collect(&fs_, dir_);
  EXPECT_EQ(s->retired_generations, 1u);
  EXPECT_GT(s->retired_bytes, 0u);
  EXPECT_EQ(s->records, 0u);
  EXPECT_EQ(s->first_offset, 201u);
  EXPECT_TRUE(Verify().ok);
}

}  // namespace
}  // namespace owsync::outbox
