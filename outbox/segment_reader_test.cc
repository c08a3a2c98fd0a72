#include "outbox/segment_reader.h"

#include <gtest/gtest.h>

#include <random>

#include "outbox/block_compressor.h"
#include "outbox/format.h"
#include "outbox/outbox_testing.h"
#include "outbox/record_codec.h"
#include "outbox/segment_writer.h"
#include "util/mem_file_system.h"

namespace owsync::outbox {
namespace {

class SegmentReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fs_.CreateDirs("/ob").ok());
    auto w = SegmentWriter::Create(&fs_, dir_, {1, "outbox-a", ""});
    ASSERT_TRUE(w.ok());
    writer_ = std::move(w).value();
  }

  // Appends a block of records first..first+n-1; returns its position.
  uint64_t AddBlock(uint64_t first, uint32_t n, size_t payload = 100) {
    std::string recs;
    for (uint32_t k = 0; k < n; ++k)
      AppendFramedRecord(testing::TestRecord(first + k, payload), &recs);
    BuiltBlock b;
    EXPECT_TRUE(compressor_.Build(recs, n, first, &b).ok());
    const uint64_t pos = writer_->size();
    EXPECT_TRUE(writer_->AppendBlock(b).ok());
    EXPECT_TRUE(writer_->Sync().ok());
    return pos;
  }

  std::unique_ptr<SegmentReader> Open() {
    auto r = SegmentReader::Open(&fs_, path_);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? std::move(r).value() : nullptr;
  }

  MemFileSystem fs_;
  OutboxDir dir_{"/ob"};
  std::string path_ = dir_.SegmentPath(1);
  std::unique_ptr<SegmentWriter> writer_;
  BlockCompressor compressor_{1};
};

TEST_F(SegmentReaderTest, ReadsBackEveryRecordOfEveryBlock) {
  AddBlock(1, 10);
  AddBlock(11, 1);
  AddBlock(12, 30);
  auto r = Open();
  uint64_t pos = r->data_start(), offset = 1;
  const uint64_t size = *r->FileSize();
  std::string raw;
  while (true) {
    auto at = r->ReadBlockHeader(pos, size);
    ASSERT_TRUE(at.ok());
    if (at->state == BlockState::kEnd) break;
    ASSERT_EQ(at->state, BlockState::kOk) << at->problem;
    EXPECT_EQ(at->header.first_offset, offset);
    ASSERT_TRUE(r->ReadRecords(pos, at->header, &raw).ok());
    std::string_view rest = raw;
    for (uint32_t i = 0; i < at->header.record_count; ++i, ++offset) {
      std::string_view body;
      ASSERT_TRUE(NextFramedRecord(&rest, &body).ok());
      Record rec;
      ASSERT_TRUE(DecodeRecord(body, &rec).ok());
      rec.offset = offset;
      Record want = testing::TestRecord(offset);
      want.offset = offset;
      EXPECT_EQ(rec, want);
    }
    EXPECT_TRUE(rest.empty());
    pos = at->next;
  }
  EXPECT_EQ(offset, 42u);
}

TEST_F(SegmentReaderTest, TornTailIsIncompleteNotBad) {
  AddBlock(1, 10);
  const uint64_t second = AddBlock(11, 10);
  const uint64_t size = writer_->size();
  auto r = Open();
  for (uint64_t cut = second + 1; cut < size; cut += 7) {
    auto at = r->ReadBlockHeader(second, cut);
    ASSERT_TRUE(at.ok());
    EXPECT_EQ(at->state, BlockState::kIncomplete) << "limit " << cut;
    EXPECT_FALSE(*r->HasValidBlockAfter(second + 1, cut, 11));
  }
  auto end = r->ReadBlockHeader(size, size);
  EXPECT_EQ(end->state, BlockState::kEnd);
}

TEST_F(SegmentReaderTest, FlippedPayloadBitIsCorruptionNamingFileAndOffset) {
  AddBlock(1, 10);
  const uint64_t second = AddBlock(11, 10);
  ASSERT_TRUE(testing::FlipBit(&fs_, path_, second + format::kBlockHeaderBytes + 5, 3).ok());
  auto r = Open();
  auto at = r->ReadBlockHeader(second, *r->FileSize());
  ASSERT_EQ(at->state, BlockState::kOk);
  std::string raw;
  Status s = r->ReadRecords(second, at->header, &raw);
  EXPECT_TRUE(s.IsCorruption());
  EXPECT_NE(s.message().find(path_ + ": byte " + std::to_string(second)), std::string::npos)
      << s.message();
  EXPECT_NE(s.message().find("crc"), std::string::npos) << s.message();
}

TEST_F(SegmentReaderTest, FlippedHeaderBitIsBadAndTheFollowingBlockIsFound) {
  const uint64_t first = AddBlock(1, 10);
  AddBlock(11, 10);
  ASSERT_TRUE(testing::FlipBit(&fs_, path_, first + 4).ok());  // the payload length
  auto r = Open();
  auto at = r->ReadBlockHeader(first, *r->FileSize());
  EXPECT_EQ(at->state, BlockState::kBad);
  EXPECT_NE(at->problem.find("crc"), std::string::npos) << at->problem;
  EXPECT_TRUE(*r->HasValidBlockAfter(first + 1, *r->FileSize(), 1));
  EXPECT_FALSE(*r->HasValidBlockAfter(first + 1, *r->FileSize(), 12));  // too old to count
}

TEST_F(SegmentReaderTest, BadHeaderMagicIsCorruptionAtByteZero) {
  ASSERT_TRUE(testing::FlipBit(&fs_, path_, 2).ok());
  auto r = SegmentReader::Open(&fs_, path_);
  ASSERT_TRUE(r.status().IsCorruption());
  EXPECT_NE(r.status().message().find(path_ + ": byte 0: "), std::string::npos)
      << r.status().message();
}

TEST_F(SegmentReaderTest, HeaderCrcCoversTheIds) {
  ASSERT_TRUE(testing::FlipBit(&fs_, path_, 27).ok());  // inside the outbox id
  auto r = SegmentReader::Open(&fs_, path_);
  ASSERT_TRUE(r.status().IsCorruption());
  EXPECT_NE(r.status().message().find("crc"), std::string::npos) << r.status().message();
}

TEST_F(SegmentReaderTest, IncompressibleBlockIsStoredRawAndReadBack) {
  std::mt19937_64 rng(1);
  std::string noise(100000, '\0');
  for (char& c : noise) c = static_cast<char>(rng());
  Record rec;
  rec.table = "blobs";
  rec.row = {Value::Blob(noise)};
  std::string recs;
  AppendFramedRecord(rec, &recs);
  BuiltBlock b;
  ASSERT_TRUE(compressor_.Build(recs, 1, 1, &b).ok());
  EXPECT_EQ(b.head.size(), format::kBlockHeaderBytes);
  EXPECT_EQ(b.tail, recs);
  const uint64_t pos = writer_->size();
  ASSERT_TRUE(writer_->AppendBlock(b).ok());
  auto r = Open();
  auto at = r->ReadBlockHeader(pos, *r->FileSize());
  ASSERT_EQ(at->state, BlockState::kOk);
  EXPECT_EQ(at->header.compression, format::kCompressionNone);
  std::string raw;
  ASSERT_TRUE(r->ReadRecords(pos, at->header, &raw).ok());
  EXPECT_EQ(raw, recs);
}

TEST_F(SegmentReaderTest, GarbageAfterTheLastBlockHasNoValidBlock) {
  AddBlock(1, 10);
  const uint64_t end = writer_->size();
  std::mt19937_64 rng(3);
  std::string junk(5000, '\0');
  for (char& c : junk) c = static_cast<char>(rng());
  junk.replace(100, 4, "OWBK");  // a magic that leads nowhere
  BuiltBlock b{junk, {}};
  ASSERT_TRUE(writer_->AppendBlock(b).ok());
  auto r = Open();
  EXPECT_FALSE(*r->HasValidBlockAfter(end, *r->FileSize(), 1));
}

}  // namespace
}  // namespace owsync::outbox
