// What is particular to MemFileSystem; the shared contract is in file_system_test.cc.
#include "util/mem_file_system.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

namespace owsync {
namespace {

TEST(MemFileSystemTest, RootAndDotAlwaysExist) {
  MemFileSystem fs;
  EXPECT_TRUE(fs.FileExists("/"));
  auto f = fs.NewWritableFile("/top");
  ASSERT_TRUE(f.ok());
  auto g = fs.NewWritableFile("relative");
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(fs.AllFiles(), (std::vector<std::string>{"/top", "relative"}));
}

TEST(MemFileSystemTest, OpenWriterKeepsWritingToARenamedFile) {
  MemFileSystem fs;
  auto w = fs.NewWritableFile("/a");
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Append("one ").ok());
  ASSERT_TRUE(fs.RenameFile("/a", "/b").ok());
  ASSERT_TRUE((*w)->Append("two").ok());
  auto b = fs.Contents("/b");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*b, "one two");
  EXPECT_FALSE(fs.FileExists("/a"));
}

TEST(MemFileSystemTest, WriterOfADeletedFileDoesNotResurrectIt) {
  MemFileSystem fs;
  auto w = fs.NewWritableFile("/a");
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE(fs.DeleteFile("/a").ok());
  ASSERT_TRUE((*w)->Append("lost").ok());
  EXPECT_FALSE(fs.FileExists("/a"));
}

TEST(MemFileSystemTest, FileAndDirectoryNamesDoNotMix) {
  MemFileSystem fs;
  ASSERT_TRUE(fs.CreateDirs("/d").ok());
  EXPECT_FALSE(fs.NewWritableFile("/d").ok());
  EXPECT_FALSE(fs.DeleteFile("/d").ok());
  EXPECT_EQ(fs.RenameFile("/d", "/e").code(), StatusCode::kNotSupported);
  auto f = fs.NewWritableFile("/f");
  ASSERT_TRUE(f.ok());
  EXPECT_FALSE(fs.NewWritableFile("/f/child").ok());
  EXPECT_FALSE(fs.DeleteDir("/").ok());
}

TEST(MemFileSystemTest, TrailingSlashesAreIgnored) {
  MemFileSystem fs;
  ASSERT_TRUE(fs.CreateDirs("/d/e/").ok());
  EXPECT_TRUE(fs.FileExists("/d/e"));
  auto c = fs.GetChildren("/d/");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(*c, (std::vector<std::string>{"e"}));
}

TEST(MemFileSystemTest, LocksOfSeparateInstancesAreIndependent) {
  MemFileSystem a;
  MemFileSystem b;
  auto la = a.LockFile("/LOCK");
  auto lb = b.LockFile("/LOCK");
  EXPECT_TRUE(la.ok());
  EXPECT_TRUE(lb.ok());
}

TEST(MemFileSystemTest, LockOutlivingTheFileSystemIsSafe) {
  std::unique_ptr<FileLock> lock;
  {
    MemFileSystem fs;
    auto l = fs.LockFile("/LOCK");
    ASSERT_TRUE(l.ok());
    lock = std::move(*l);
  }
  lock.reset();  // must not touch freed memory (checked under ASan)
}

TEST(MemFileSystemTest, ConcurrentWritersOnDistinctFiles) {
  MemFileSystem fs;
  ASSERT_TRUE(fs.CreateDirs("/d").ok());
  constexpr int kThreads = 4;
  constexpr int kAppends = 2000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&fs, t] {
      const std::string path = "/d/f" + std::to_string(t);
      auto f = fs.NewWritableFile(path);
      ASSERT_TRUE(f.ok());
      for (int i = 0; i < kAppends; ++i) {
        ASSERT_TRUE((*f)->Append("x").ok());
        if (i % 100 == 0) {
          auto children = fs.GetChildren("/d");
          ASSERT_TRUE(children.ok());
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) {
    auto size = fs.GetFileSize("/d/f" + std::to_string(t));
    ASSERT_TRUE(size.ok());
    EXPECT_EQ(*size, static_cast<uint64_t>(kAppends));
  }
}

TEST(MemFileSystemTest, TruncateCanExtendWithZeros) {
  MemFileSystem fs;
  auto f = fs.NewWritableFile("/a");
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->Append("ab").ok());
  ASSERT_TRUE(fs.Truncate("/a", 4).ok());
  auto c = fs.Contents("/a");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(*c, std::string("ab\0\0", 4));
}

}  // namespace
}  // namespace owsync
