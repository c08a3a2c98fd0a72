#include "outbox/repair_request.h"

#include <gtest/gtest.h>

#include "util/mem_file_system.h"

namespace owsync::outbox {
namespace {

TEST(RepairRequestTest, WrittenRequestsAreListedOldestFirstAndReadBack) {
  MemFileSystem fs;
  ASSERT_TRUE(fs.CreateDirs("/ob").ok());
  EXPECT_TRUE(RepairRequestFile::List(&fs, "/ob")->empty()) << "no directory yet: nothing";
  const RepairRequest later{"ob-1", 900, "we\"ird table", {{Value::Integer(7)}}};
  const RepairRequest first{
      "ob-1", 120, "chat", {{Value::Text("a\nb")}, {Value::Blob(std::string("\0\xff", 2))}}};
  ASSERT_TRUE(RepairRequestFile::Write(&fs, "/ob", later).ok());
  ASSERT_TRUE(RepairRequestFile::Write(&fs, "/ob", first).ok());
  auto paths = RepairRequestFile::List(&fs, "/ob");
  ASSERT_TRUE(paths.ok());
  ASSERT_EQ(paths->size(), 2u);
  auto a = RepairRequestFile::Read(&fs, (*paths)[0]);
  auto b = RepairRequestFile::Read(&fs, (*paths)[1]);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(*a, first);
  EXPECT_EQ(*b, later);
  ASSERT_TRUE(RepairRequestFile::Remove(&fs, (*paths)[0]).ok());
  EXPECT_EQ(RepairRequestFile::List(&fs, "/ob")->size(), 1u);
}

TEST(RepairRequestTest, AMalformedRequestIsCorruption) {
  MemFileSystem fs;
  ASSERT_TRUE(fs.CreateDirs("/ob/repair").ok());
  for (const char* text : {"nonsense\n", "owsync-repair 1\noutbox_id=x\n",
                           "owsync-repair 1\noutbox_id=x\ntable_hex=6162\nkey=zz\n",
                           "owsync-repair 1\noutbox_id=x\ntable_hex=6162"}) {
    ASSERT_TRUE(WriteFileAtomically(&fs, "/ob/repair/1.req", text).ok());
    EXPECT_EQ(RepairRequestFile::Read(&fs, "/ob/repair/1.req").status().code(),
              StatusCode::kCorruption)
        << text;
  }
}

}  // namespace
}  // namespace owsync::outbox
