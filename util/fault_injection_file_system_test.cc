// Each fault of FaultInjectionFileSystem does what it claims (issue 2).
#include "util/fault_injection_file_system.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "util/mem_file_system.h"
#include "util/scoped_temp_dir.h"

namespace owsync {
namespace {

class FaultInjectionFileSystemTest : public testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(fs_.CreateDirs("/d").ok()); }

  // Creates `path` with `data`, synced and with its directory synced: fully durable.
  void WriteDurable(const std::string& path, std::string_view data) {
    auto f = fs_.NewWritableFile(path);
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE((*f)->Append(data).ok());
    ASSERT_TRUE((*f)->Sync().ok());
    ASSERT_TRUE((*f)->Close().ok());
    ASSERT_TRUE(fs_.SyncDir(DirName(path)).ok());
  }

  std::string Contents(const std::string& path) {
    auto c = mem_.Contents(path);
    return c.ok() ? *c : "<" + c.status().ToString() + ">";
  }

  void Crash() { ASSERT_TRUE(fs_.DropUnsyncedData().ok()); }

  MemFileSystem mem_;
  FaultInjectionFileSystem fs_{&mem_};
};

TEST_F(FaultInjectionFileSystemTest, PowerLossCutsFilesBackToTheirSyncedLength) {
  WriteDurable("/d/a", "");
  auto f = fs_.NewAppendableFile("/d/a");
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->Append("synced|").ok());
  ASSERT_TRUE((*f)->Sync().ok());
  ASSERT_TRUE((*f)->Append("unsynced").ok());
  EXPECT_EQ(Contents("/d/a"), "synced|unsynced");
  Crash();
  EXPECT_EQ(Contents("/d/a"), "synced|");
}

TEST_F(FaultInjectionFileSystemTest, PowerLossWithoutAnySyncEmptiesTheFile) {
  WriteDurable("/d/a", "");
  auto f = fs_.NewAppendableFile("/d/a");
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->Append("never synced").ok());
  Crash();
  EXPECT_EQ(Contents("/d/a"), "");
}

TEST_F(FaultInjectionFileSystemTest, FileCreatedWithoutDirSyncDisappears) {
  auto f = fs_.NewWritableFile("/d/new");
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->Append("data").ok());
  ASSERT_TRUE((*f)->Sync().ok());  // the data is synced, but not the directory entry
  Crash();
  EXPECT_FALSE(mem_.FileExists("/d/new"));
}

TEST_F(FaultInjectionFileSystemTest, FileCreatedWithDirSyncSurvives) {
  WriteDurable("/d/new", "data");
  Crash();
  EXPECT_EQ(Contents("/d/new"), "data");
}

TEST_F(FaultInjectionFileSystemTest, SyncOfAnotherDirectoryDoesNotHelp) {
  ASSERT_TRUE(fs_.CreateDirs("/e").ok());
  auto f = fs_.NewWritableFile("/d/new");
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->Sync().ok());
  ASSERT_TRUE(fs_.SyncDir("/e").ok());
  Crash();
  EXPECT_FALSE(mem_.FileExists("/d/new"));
}

TEST_F(FaultInjectionFileSystemTest, DeletionWithoutDirSyncIsUndone) {
  WriteDurable("/d/a", "keep me");
  ASSERT_TRUE(fs_.DeleteFile("/d/a").ok());
  EXPECT_FALSE(mem_.FileExists("/d/a"));
  Crash();
  EXPECT_EQ(Contents("/d/a"), "keep me");
}

TEST_F(FaultInjectionFileSystemTest, DeletionWithDirSyncStays) {
  WriteDurable("/d/a", "gone");
  ASSERT_TRUE(fs_.DeleteFile("/d/a").ok());
  ASSERT_TRUE(fs_.SyncDir("/d").ok());
  Crash();
  EXPECT_FALSE(mem_.FileExists("/d/a"));
}

TEST_F(FaultInjectionFileSystemTest, RenameWithoutDirSyncIsUndone) {
  WriteDurable("/d/old", "old contents");
  WriteDurable("/d/tmp", "new contents");
  ASSERT_TRUE(fs_.RenameFile("/d/tmp", "/d/old").ok());
  EXPECT_EQ(Contents("/d/old"), "new contents");
  Crash();
  EXPECT_EQ(Contents("/d/old"), "old contents");
  EXPECT_EQ(Contents("/d/tmp"), "new contents");
}

TEST_F(FaultInjectionFileSystemTest, RenameWithDirSyncStays) {
  WriteDurable("/d/old", "old contents");
  WriteDurable("/d/tmp", "new contents");
  ASSERT_TRUE(fs_.RenameFile("/d/tmp", "/d/old").ok());
  ASSERT_TRUE(fs_.SyncDir("/d").ok());
  Crash();
  EXPECT_EQ(Contents("/d/old"), "new contents");
  EXPECT_FALSE(mem_.FileExists("/d/tmp"));
}

TEST_F(FaultInjectionFileSystemTest, WriteFileAtomicallyIsDurableAndAllOrNothing) {
  ASSERT_TRUE(WriteFileAtomically(&fs_, "/d/state", "v1").ok());
  Crash();
  EXPECT_EQ(Contents("/d/state"), "v1");
  // A failing sync leaves the old version in place, also after a crash.
  fs_.FailSyncAfter(0);
  EXPECT_FALSE(WriteFileAtomically(&fs_, "/d/state", "v2").ok());
  fs_.ClearFaults();
  EXPECT_EQ(Contents("/d/state"), "v1");
  Crash();
  EXPECT_EQ(Contents("/d/state"), "v1");
  EXPECT_EQ(mem_.AllFiles(), (std::vector<std::string>{"/d/state"}));
}

TEST_F(FaultInjectionFileSystemTest, TruncatedRewriteLosesUnsyncedNewContents) {
  WriteDurable("/d/a", "old");
  auto f = fs_.NewWritableFile("/d/a");  // O_TRUNC of an existing file
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->Append("new").ok());
  Crash();
  EXPECT_EQ(Contents("/d/a"), "");
}

TEST_F(FaultInjectionFileSystemTest, TruncateIsDurable) {
  WriteDurable("/d/a", "0123456789");
  ASSERT_TRUE(fs_.Truncate("/d/a", 4).ok());
  Crash();
  EXPECT_EQ(Contents("/d/a"), "0123");
}

TEST_F(FaultInjectionFileSystemTest, FilesWrittenBeforeWrappingCountAsDurable) {
  auto f = mem_.NewWritableFile("/d/pre");
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->Append("existing").ok());
  auto g = fs_.NewAppendableFile("/d/pre");
  ASSERT_TRUE(g.ok());
  ASSERT_TRUE((*g)->Append("+more").ok());
  Crash();
  EXPECT_EQ(Contents("/d/pre"), "existing");
}

TEST_F(FaultInjectionFileSystemTest, HandlesFromBeforeThePowerLossAreDead) {
  WriteDurable("/d/a", "x");
  auto f = fs_.NewAppendableFile("/d/a");
  ASSERT_TRUE(f.ok());
  Crash();
  EXPECT_EQ((*f)->Append("y").code(), StatusCode::kIOError);
  EXPECT_EQ((*f)->Sync().code(), StatusCode::kIOError);
  auto g = fs_.NewAppendableFile("/d/a");
  ASSERT_TRUE(g.ok());
  EXPECT_TRUE((*g)->Append("y").ok());
  EXPECT_EQ(Contents("/d/a"), "xy");
}

TEST_F(FaultInjectionFileSystemTest, FailWriteAfterNFailsTheNextAndLaterAppends) {
  auto f = fs_.NewWritableFile("/d/a");
  ASSERT_TRUE(f.ok());
  fs_.FailWriteAfter(2);
  EXPECT_TRUE((*f)->Append("1").ok());
  EXPECT_TRUE((*f)->Append("2").ok());
  EXPECT_EQ((*f)->Append("3").code(), StatusCode::kIOError);
  EXPECT_EQ((*f)->Append("4").code(), StatusCode::kIOError);
  EXPECT_EQ(Contents("/d/a"), "12");  // failed appends wrote nothing
  auto other = fs_.NewWritableFile("/d/b");
  ASSERT_TRUE(other.ok());
  EXPECT_EQ((*other)->Append("x").code(), StatusCode::kIOError);  // the whole disk fails
  EXPECT_TRUE((*f)->Sync().ok());                                 // syncs are not affected
  fs_.ClearFaults();
  EXPECT_TRUE((*f)->Append("5").ok());
  EXPECT_EQ(Contents("/d/a"), "125");
}

TEST_F(FaultInjectionFileSystemTest, FailSyncAfterNKeepsDataUnsynced) {
  WriteDurable("/d/a", "");
  auto f = fs_.NewAppendableFile("/d/a");
  ASSERT_TRUE(f.ok());
  fs_.FailSyncAfter(1);
  ASSERT_TRUE((*f)->Append("first|").ok());
  EXPECT_TRUE((*f)->Sync().ok());
  ASSERT_TRUE((*f)->Append("second").ok());
  EXPECT_EQ((*f)->Sync().code(), StatusCode::kIOError);
  EXPECT_EQ((*f)->Sync().code(), StatusCode::kIOError);
  EXPECT_TRUE(fs_.SyncDir("/d").ok());  // directory syncs are not counted
  Crash();
  EXPECT_EQ(Contents("/d/a"), "first|");
}

TEST_F(FaultInjectionFileSystemTest, FailAfterZeroFailsTheFirstCall) {
  auto f = fs_.NewWritableFile("/d/a");
  ASSERT_TRUE(f.ok());
  fs_.FailWriteAfter(0);
  fs_.FailSyncAfter(0);
  EXPECT_FALSE((*f)->Append("x").ok());
  EXPECT_FALSE((*f)->Sync().ok());
}

TEST_F(FaultInjectionFileSystemTest, TornWriteKeepsAPrefixAndKillsTheFile) {
  auto f = fs_.NewWritableFile("/d/a");
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->Append("whole|").ok());
  fs_.TearNextWrite(3);
  Status s = (*f)->Append("abcdef");
  EXPECT_EQ(s.code(), StatusCode::kIOError);
  EXPECT_EQ(Contents("/d/a"), "whole|abc");  // what a reader after a process crash sees
  EXPECT_FALSE((*f)->Append("more").ok());
  EXPECT_FALSE((*f)->Sync().ok());
  // One-shot: a new file object works normally.
  auto g = fs_.NewAppendableFile("/d/a");
  ASSERT_TRUE(g.ok());
  EXPECT_TRUE((*g)->Append("|next").ok());
  EXPECT_EQ(Contents("/d/a"), "whole|abc|next");
}

TEST_F(FaultInjectionFileSystemTest, TornTailIsNotDurable) {
  WriteDurable("/d/a", "whole|");
  auto f = fs_.NewAppendableFile("/d/a");
  ASSERT_TRUE(f.ok());
  fs_.TearNextWrite(2);
  EXPECT_FALSE((*f)->Append("abcdef").ok());
  Crash();
  EXPECT_EQ(Contents("/d/a"), "whole|");
}

TEST_F(FaultInjectionFileSystemTest, FullDiskRejectsAppendsBeyondTheBudget) {
  auto f = fs_.NewWritableFile("/d/a");
  ASSERT_TRUE(f.ok());
  fs_.SetFreeBytes(10);
  EXPECT_TRUE((*f)->Append("123456").ok());
  Status s = (*f)->Append("78901");
  EXPECT_TRUE(s.IsNoSpace()) << s.ToString();
  EXPECT_TRUE(s.retryable());
  EXPECT_EQ(Contents("/d/a"), "123456");  // nothing of the failed append was written
  EXPECT_TRUE((*f)->Append("7890").ok());
  EXPECT_TRUE((*f)->Append("x").IsNoSpace());
  EXPECT_TRUE((*f)->Append("").ok());
}

TEST_F(FaultInjectionFileSystemTest, DeletingAndTruncatingFreeSpace) {
  fs_.SetFreeBytes(8);
  WriteDurable("/d/a", "12345678");
  auto f = fs_.NewWritableFile("/d/b");
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE((*f)->Append("x").IsNoSpace());
  ASSERT_TRUE(fs_.Truncate("/d/a", 6).ok());
  EXPECT_TRUE((*f)->Append("xy").ok());
  EXPECT_TRUE((*f)->Append("z").IsNoSpace());
  ASSERT_TRUE(fs_.DeleteFile("/d/a").ok());
  EXPECT_TRUE((*f)->Append("abcdef").ok());
  fs_.ClearFaults();
  EXPECT_TRUE((*f)->Append(std::string(1000, 'q')).ok());
}

TEST_F(FaultInjectionFileSystemTest, CountsSyncs) {
  WriteDurable("/d/a", "x");
  WriteDurable("/d/b", "y");
  EXPECT_EQ(fs_.SyncCount(), 2);
  EXPECT_EQ(fs_.SyncDirCount(), 2);
}

TEST(FaultInjectionOverPosixTest, PowerLossOnARealDirectory) {
  auto dir = ScopedTempDir::Create("owsync-fault-test-");
  ASSERT_TRUE(dir.ok());
  auto posix = NewPosixFileSystem();
  FaultInjectionFileSystem fs(posix.get());
  ASSERT_TRUE(WriteFileAtomically(&fs, dir->Child("kept"), "durable").ok());
  auto f = fs.NewWritableFile(dir->Child("lost"));
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->Append("gone").ok());
  auto g = fs.NewAppendableFile(dir->Child("kept"));
  ASSERT_TRUE(g.ok());
  ASSERT_TRUE((*g)->Append("+unsynced").ok());
  ASSERT_TRUE(fs.DropUnsyncedData().ok());
  EXPECT_FALSE(posix->FileExists(dir->Child("lost")));
  auto kept = ReadFileToString(posix.get(), dir->Child("kept"));
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(*kept, "durable");
}

}  // namespace
}  // namespace owsync
