// The FileSystem contract, checked on every implementation (POSIX in a temp dir, in-memory,
// fault-injecting over in-memory with no fault set), plus the helpers of file_system.h.
#include "util/file_system.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "util/fault_injection_file_system.h"
#include "util/mem_file_system.h"
#include "util/scoped_temp_dir.h"

namespace owsync {
namespace {

TEST(PathTest, JoinPath) {
  EXPECT_EQ(JoinPath("a/b", "c"), "a/b/c");
  EXPECT_EQ(JoinPath("a/b/", "c"), "a/b/c");
  EXPECT_EQ(JoinPath("/", "c"), "/c");
  EXPECT_EQ(JoinPath("", "c"), "c");
  EXPECT_EQ(JoinPath("a", ""), "a");
  EXPECT_EQ(JoinPath("a", "/c"), "a/c");
  EXPECT_EQ(JoinPath("a", "b/c"), "a/b/c");
}

TEST(PathTest, DirName) {
  EXPECT_EQ(DirName("a/b/c"), "a/b");
  EXPECT_EQ(DirName("/a/b"), "/a");
  EXPECT_EQ(DirName("/a"), "/");
  EXPECT_EQ(DirName("/"), "/");
  EXPECT_EQ(DirName("c"), ".");
  EXPECT_EQ(DirName(""), ".");
  EXPECT_EQ(DirName("a/b/"), "a");
  EXPECT_EQ(DirName("a//b"), "a");
  EXPECT_EQ(DirName(JoinPath("x/y", "z")), "x/y");
}

enum class Kind { kPosix, kMem, kFaultOverMem };

std::string KindName(const testing::TestParamInfo<Kind>& info) {
  switch (info.param) {
    case Kind::kPosix:
      return "Posix";
    case Kind::kMem:
      return "Mem";
    case Kind::kFaultOverMem:
      return "FaultOverMem";
  }
  return "Unknown";
}

class FileSystemContractTest : public testing::TestWithParam<Kind> {
 protected:
  void SetUp() override {
    switch (GetParam()) {
      case Kind::kPosix: {
        auto dir = ScopedTempDir::Create("owsync-fs-test-");
        ASSERT_TRUE(dir.ok()) << dir.status().ToString();
        tmp_ = std::make_unique<ScopedTempDir>(std::move(*dir));
        root_ = tmp_->path();
        owned_ = NewPosixFileSystem();
        fs_ = owned_.get();
        break;
      }
      case Kind::kMem:
        owned_ = std::make_unique<MemFileSystem>();
        fs_ = owned_.get();
        root_ = "/t";
        ASSERT_TRUE(fs_->CreateDirs(root_).ok());
        break;
      case Kind::kFaultOverMem:
        owned_ = std::make_unique<MemFileSystem>();
        fault_ = std::make_unique<FaultInjectionFileSystem>(owned_.get());
        fs_ = fault_.get();
        root_ = "/t";
        ASSERT_TRUE(fs_->CreateDirs(root_).ok());
        break;
    }
  }

  std::string P(std::string_view name) const { return JoinPath(root_, name); }

  void Write(const std::string& path, std::string_view data) {
    auto f = fs_->NewWritableFile(path);
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    ASSERT_TRUE((*f)->Append(data).ok());
    ASSERT_TRUE((*f)->Sync().ok());
    ASSERT_TRUE((*f)->Close().ok());
  }

  std::string Read(const std::string& path) {
    auto r = ReadFileToString(fs_, path);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : std::string("<error>");
  }

  std::vector<std::string> Children(const std::string& dir) {
    auto c = fs_->GetChildren(dir);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    std::vector<std::string> v = c.ok() ? *c : std::vector<std::string>{};
    std::sort(v.begin(), v.end());
    return v;
  }

  std::unique_ptr<ScopedTempDir> tmp_;
  std::unique_ptr<FileSystem> owned_;
  std::unique_ptr<FaultInjectionFileSystem> fault_;
  FileSystem* fs_ = nullptr;
  std::string root_;
};

TEST_P(FileSystemContractTest, WrittenBytesReadBack) {
  auto f = fs_->NewWritableFile(P("a"));
  ASSERT_TRUE(f.ok());
  EXPECT_EQ((*f)->Size(), 0u);
  ASSERT_TRUE((*f)->Append("hello ").ok());
  ASSERT_TRUE((*f)->Append(std::string_view("w\0rld", 5)).ok());
  EXPECT_EQ((*f)->Size(), 11u);
  ASSERT_TRUE((*f)->Sync().ok());
  ASSERT_TRUE((*f)->Close().ok());
  EXPECT_TRUE(fs_->FileExists(P("a")));
  EXPECT_EQ(Read(P("a")), std::string("hello w\0rld", 11));
  auto size = fs_->GetFileSize(P("a"));
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(*size, 11u);
}

TEST_P(FileSystemContractTest, AppendAfterCloseFails) {
  auto f = fs_->NewWritableFile(P("a"));
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->Close().ok());
  EXPECT_FALSE((*f)->Append("x").ok());
}

TEST_P(FileSystemContractTest, NewWritableFileTruncates) {
  Write(P("a"), "long old contents");
  Write(P("a"), "new");
  EXPECT_EQ(Read(P("a")), "new");
}

TEST_P(FileSystemContractTest, AppendableFileContinuesAtTheEnd) {
  Write(P("a"), "abc");
  auto f = fs_->NewAppendableFile(P("a"));
  ASSERT_TRUE(f.ok());
  EXPECT_EQ((*f)->Size(), 3u);
  ASSERT_TRUE((*f)->Append("def").ok());
  EXPECT_EQ((*f)->Size(), 6u);
  ASSERT_TRUE((*f)->Close().ok());
  EXPECT_EQ(Read(P("a")), "abcdef");

  auto fresh = fs_->NewAppendableFile(P("new"));
  ASSERT_TRUE(fresh.ok());
  EXPECT_EQ((*fresh)->Size(), 0u);
  EXPECT_TRUE(fs_->FileExists(P("new")));
}

TEST_P(FileSystemContractTest, RandomReadsAtOffsetsAndShortAtTheEnd) {
  Write(P("a"), "0123456789");
  auto r = fs_->NewRandomAccessFile(P("a"));
  ASSERT_TRUE(r.ok());
  std::string out = "garbage";
  ASSERT_TRUE((*r)->Read(2, 3, &out).ok());
  EXPECT_EQ(out, "234");
  ASSERT_TRUE((*r)->Read(8, 100, &out).ok());
  EXPECT_EQ(out, "89");
  ASSERT_TRUE((*r)->Read(10, 5, &out).ok());
  EXPECT_EQ(out, "");
  ASSERT_TRUE((*r)->Read(1000, 5, &out).ok());
  EXPECT_EQ(out, "");
  auto size = (*r)->Size();
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(*size, 10u);
}

TEST_P(FileSystemContractTest, ReaderSeesTheFileGrow) {
  auto w = fs_->NewWritableFile(P("a"));
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Append("abc").ok());
  auto r = fs_->NewRandomAccessFile(P("a"));
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE((*w)->Append("def").ok());
  auto size = (*r)->Size();
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(*size, 6u);
  std::string out;
  ASSERT_TRUE((*r)->Read(3, 3, &out).ok());
  EXPECT_EQ(out, "def");
}

TEST_P(FileSystemContractTest, MissingFileIsNotFound) {
  EXPECT_FALSE(fs_->FileExists(P("nope")));
  EXPECT_TRUE(fs_->NewRandomAccessFile(P("nope")).status().IsNotFound());
  EXPECT_TRUE(fs_->GetFileSize(P("nope")).status().IsNotFound());
  EXPECT_TRUE(fs_->DeleteFile(P("nope")).IsNotFound());
  EXPECT_TRUE(fs_->RenameFile(P("nope"), P("other")).IsNotFound());
  EXPECT_TRUE(ReadFileToString(fs_, P("nope")).status().IsNotFound());
  EXPECT_TRUE(fs_->GetChildren(P("nodir")).status().IsNotFound());
}

TEST_P(FileSystemContractTest, FileInMissingDirectoryIsNotFound) {
  EXPECT_TRUE(fs_->NewWritableFile(P("nodir/a")).status().IsNotFound());
}

TEST_P(FileSystemContractTest, GetChildrenListsNamesOfFilesAndDirectories) {
  EXPECT_TRUE(Children(root_).empty());
  Write(P("a"), "1");
  Write(P("b"), "2");
  ASSERT_TRUE(fs_->CreateDirs(P("sub/deeper")).ok());
  Write(P("sub/c"), "3");
  EXPECT_EQ(Children(root_), (std::vector<std::string>{"a", "b", "sub"}));
  EXPECT_EQ(Children(P("sub")), (std::vector<std::string>{"c", "deeper"}));
}

TEST_P(FileSystemContractTest, DeleteRemovesTheName) {
  Write(P("a"), "1");
  ASSERT_TRUE(fs_->DeleteFile(P("a")).ok());
  EXPECT_FALSE(fs_->FileExists(P("a")));
  EXPECT_TRUE(Children(root_).empty());
}

TEST_P(FileSystemContractTest, OpenReaderKeepsContentsAfterDelete) {
  Write(P("a"), "still here");
  auto r = fs_->NewRandomAccessFile(P("a"));
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(fs_->DeleteFile(P("a")).ok());
  std::string out;
  ASSERT_TRUE((*r)->Read(0, 100, &out).ok());
  EXPECT_EQ(out, "still here");
}

TEST_P(FileSystemContractTest, RenameReplacesTheTarget) {
  Write(P("a"), "new");
  Write(P("b"), "old");
  ASSERT_TRUE(fs_->RenameFile(P("a"), P("b")).ok());
  EXPECT_FALSE(fs_->FileExists(P("a")));
  EXPECT_EQ(Read(P("b")), "new");
  EXPECT_EQ(Children(root_), (std::vector<std::string>{"b"}));
}

TEST_P(FileSystemContractTest, CreateDirsMakesParentsAndIsIdempotent) {
  ASSERT_TRUE(fs_->CreateDirs(P("x/y/z")).ok());
  ASSERT_TRUE(fs_->CreateDirs(P("x/y/z")).ok());
  ASSERT_TRUE(fs_->CreateDirs(P("x/y")).ok());
  EXPECT_TRUE(fs_->FileExists(P("x/y/z")));
  Write(P("x/y/z/f"), "1");
  EXPECT_EQ(Read(P("x/y/z/f")), "1");
  Write(P("file"), "1");
  EXPECT_FALSE(fs_->CreateDirs(P("file")).ok());
}

TEST_P(FileSystemContractTest, DeleteDirOnlyWhenEmpty) {
  ASSERT_TRUE(fs_->CreateDirs(P("d")).ok());
  Write(P("d/f"), "1");
  EXPECT_FALSE(fs_->DeleteDir(P("d")).ok());
  ASSERT_TRUE(fs_->DeleteFile(P("d/f")).ok());
  ASSERT_TRUE(fs_->DeleteDir(P("d")).ok());
  EXPECT_FALSE(fs_->FileExists(P("d")));
  EXPECT_TRUE(fs_->DeleteDir(P("d")).IsNotFound());
}

TEST_P(FileSystemContractTest, SyncDirOfExistingDirectorySucceeds) {
  EXPECT_TRUE(fs_->SyncDir(root_).ok());
  EXPECT_TRUE(fs_->SyncDir(P("missing")).IsNotFound());
}

TEST_P(FileSystemContractTest, TruncateCutsTheTail) {
  Write(P("a"), "0123456789");
  ASSERT_TRUE(fs_->Truncate(P("a"), 4).ok());
  EXPECT_EQ(Read(P("a")), "0123");
  auto f = fs_->NewAppendableFile(P("a"));
  ASSERT_TRUE(f.ok());
  EXPECT_EQ((*f)->Size(), 4u);
  ASSERT_TRUE((*f)->Append("xy").ok());
  EXPECT_EQ(Read(P("a")), "0123xy");
  EXPECT_TRUE(fs_->Truncate(P("missing"), 0).IsNotFound());
}

TEST_P(FileSystemContractTest, SecondLockOnTheSamePathIsBusyUntilReleased) {
  auto first = fs_->LockFile(P("LOCK"));
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_TRUE(fs_->FileExists(P("LOCK")));
  auto second = fs_->LockFile(P("LOCK"));
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kBusy);
  EXPECT_TRUE(second.status().retryable());
  auto other = fs_->LockFile(P("OTHER"));
  EXPECT_TRUE(other.ok());
  first->reset();
  auto third = fs_->LockFile(P("LOCK"));
  EXPECT_TRUE(third.ok()) << third.status().ToString();
}

TEST_P(FileSystemContractTest, WriteFileAtomicallyReplacesAndLeavesNoTempFile) {
  ASSERT_TRUE(WriteFileAtomically(fs_, P("state"), "v1").ok());
  EXPECT_EQ(Read(P("state")), "v1");
  ASSERT_TRUE(WriteFileAtomically(fs_, P("state"), "version two").ok());
  EXPECT_EQ(Read(P("state")), "version two");
  EXPECT_EQ(Children(root_), (std::vector<std::string>{"state"}));
  EXPECT_FALSE(WriteFileAtomically(fs_, P("nodir/state"), "x").ok());
}

TEST_P(FileSystemContractTest, ReadFileToStringReadsLargeFiles) {
  std::string big;
  for (int i = 0; i < 300000; ++i) big += static_cast<char>('a' + i % 26);
  big += big;  // 600 KB, and below: several MB in more than one read chunk
  std::string huge;
  for (int i = 0; i < 4; ++i) huge += big;
  Write(P("big"), huge);
  EXPECT_EQ(Read(P("big")), huge);
}

INSTANTIATE_TEST_SUITE_P(AllFileSystems, FileSystemContractTest,
                         testing::Values(Kind::kPosix, Kind::kMem, Kind::kFaultOverMem), KindName);

}  // namespace
}  // namespace owsync
