#include "outbox/acked_file.h"

#include <gtest/gtest.h>

#include "outbox/outbox_dir.h"
#include "util/mem_file_system.h"

namespace owsync::outbox {
namespace {

class AckedFileTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(fs_.CreateDirs(dir_).ok()); }
  Status WriteText(const std::string& text) {
    return WriteFileAtomically(&fs_, OutboxDir(dir_).AckedPath(), text);
  }
  MemFileSystem fs_;
  std::string dir_ = "/ob";
};

TEST_F(AckedFileTest, RoundTripsWithAndWithoutAFingerprint) {
  for (const Acked& a : {Acked{"outbox-1", 120, "00ab00cd00ef0012"}, Acked{"outbox-1", 7, ""}}) {
    ASSERT_TRUE(AckedFile::Write(&fs_, dir_, a).ok());
    auto back = AckedFile::Read(&fs_, dir_);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(*back, a);
  }
}

TEST_F(AckedFileTest, AFileOfAnOlderShipperWithoutFingerprintIsRead) {
  ASSERT_TRUE(WriteText("owsync-outbox-acked 1\noutbox_id=o\nacked_offset=5\n").ok());
  auto back = AckedFile::Read(&fs_, dir_);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, (Acked{"o", 5, ""}));
}

TEST_F(AckedFileTest, MalformedFilesAreCorruption) {
  for (const char* text :
       {"owsync-outbox-acked 1\noutbox_id=o\nacked_offset=5\nacked_fingerprint=XYZ\n",
        "owsync-outbox-acked 1\noutbox_id=o\nacked_offset=5\nother=1\n",
        "owsync-outbox-acked 1\noutbox_id=o\nacked_offset=5\nacked_fingerprint=00ab00cd00ef0012\n"
        "extra=1\n"}) {
    ASSERT_TRUE(WriteText(text).ok());
    EXPECT_EQ(AckedFile::Read(&fs_, dir_).status().code(), StatusCode::kCorruption) << text;
  }
  EXPECT_EQ(AckedFile::Write(&fs_, dir_, Acked{"o", 1, "nothex"}).code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace owsync::outbox
