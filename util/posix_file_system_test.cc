// What only the POSIX filesystem can show: modes, O_CLOEXEC, flock across processes, errno
// mapping. The shared contract is in file_system_test.cc.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <string>

#include "util/file_system.h"
#include "util/scoped_temp_dir.h"

namespace owsync {
namespace {

class PosixFileSystemTest : public testing::Test {
 protected:
  void SetUp() override {
    auto dir = ScopedTempDir::Create("owsync-posix-test-");
    ASSERT_TRUE(dir.ok()) << dir.status().ToString();
    tmp_ = std::make_unique<ScopedTempDir>(std::move(*dir));
  }

  static mode_t ModeOf(const std::string& path) {
    struct stat st {};
    EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
    return st.st_mode & 07777;
  }

  // The open(2) flags of every descriptor of this process that refers to `path`.
  static std::vector<long> FlagsOfDescriptorsOn(const std::string& path) {
    std::vector<long> flags;
    for (int fd = 0; fd < 1024; ++fd) {
      char target[4096];
      const std::string link = "/proc/self/fd/" + std::to_string(fd);
      const ssize_t n = ::readlink(link.c_str(), target, sizeof(target) - 1);
      if (n <= 0 || std::string(target, n) != path) continue;
      std::ifstream info("/proc/self/fdinfo/" + std::to_string(fd));
      std::string key;
      std::string value;
      while (info >> key >> value) {
        if (key == "flags:") flags.push_back(std::stol(value, nullptr, 8));
      }
    }
    return flags;
  }

  std::unique_ptr<ScopedTempDir> tmp_;
  std::unique_ptr<FileSystem> fs_ = NewPosixFileSystem();
};

TEST_F(PosixFileSystemTest, FilesAre0600AndDirectories0700) {
  const mode_t old_umask = ::umask(0);  // even with a permissive umask
  const std::string dir = tmp_->Child("a/b");
  ASSERT_TRUE(fs_->CreateDirs(dir).ok());
  {
    auto f = fs_->NewWritableFile(JoinPath(dir, "w"));
    ASSERT_TRUE(f.ok());
    auto g = fs_->NewAppendableFile(JoinPath(dir, "ap"));
    ASSERT_TRUE(g.ok());
    auto l = fs_->LockFile(JoinPath(dir, "LOCK"));
    ASSERT_TRUE(l.ok());
  }
  ASSERT_TRUE(WriteFileAtomically(fs_.get(), JoinPath(dir, "atomic"), "x").ok());
  ::umask(old_umask);
  EXPECT_EQ(ModeOf(tmp_->Child("a")), 0700u);
  EXPECT_EQ(ModeOf(dir), 0700u);
  EXPECT_EQ(ModeOf(JoinPath(dir, "w")), 0600u);
  EXPECT_EQ(ModeOf(JoinPath(dir, "ap")), 0600u);
  EXPECT_EQ(ModeOf(JoinPath(dir, "LOCK")), 0600u);
  EXPECT_EQ(ModeOf(JoinPath(dir, "atomic")), 0600u);
}

TEST_F(PosixFileSystemTest, EveryDescriptorIsCloseOnExec) {
  const std::string path = tmp_->Child("f");
  auto w = fs_->NewWritableFile(path);
  ASSERT_TRUE(w.ok());
  auto a = fs_->NewAppendableFile(path);
  ASSERT_TRUE(a.ok());
  auto r = fs_->NewRandomAccessFile(path);
  ASSERT_TRUE(r.ok());
  auto l = fs_->LockFile(path);
  ASSERT_TRUE(l.ok());
  const std::vector<long> flags = FlagsOfDescriptorsOn(path);
  ASSERT_EQ(flags.size(), 4u);
  for (long f : flags) EXPECT_NE(f & O_CLOEXEC, 0) << std::oct << f;
}

TEST_F(PosixFileSystemTest, LockIsBusyForAnotherProcessAndFreedOnDestruction) {
  const std::string path = tmp_->Child("LOCK");
  auto lock = fs_->LockFile(path);
  ASSERT_TRUE(lock.ok());
  auto child_can_lock = [&]() {
    const pid_t pid = ::fork();
    if (pid == 0) {
      const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
      _exit(fd >= 0 && ::flock(fd, LOCK_EX | LOCK_NB) == 0 ? 0 : 1);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
  };
  EXPECT_FALSE(child_can_lock());
  lock->reset();
  EXPECT_TRUE(child_can_lock());
}

TEST_F(PosixFileSystemTest, LockHeldByAnotherProcessIsBusy) {
  const std::string path = tmp_->Child("LOCK");
  int to_child[2];
  int to_parent[2];
  ASSERT_EQ(::pipe(to_child), 0);
  ASSERT_EQ(::pipe(to_parent), 0);
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT, 0600);
    const char ok = (fd >= 0 && ::flock(fd, LOCK_EX | LOCK_NB) == 0) ? 'y' : 'n';
    (void)!::write(to_parent[1], &ok, 1);
    char c;
    (void)!::read(to_child[0], &c, 1);  // hold the lock until told
    _exit(0);
  }
  char ok = 0;
  ASSERT_EQ(::read(to_parent[0], &ok, 1), 1);
  ASSERT_EQ(ok, 'y');
  auto busy = fs_->LockFile(path);
  EXPECT_EQ(busy.status().code(), StatusCode::kBusy);
  ASSERT_EQ(::write(to_child[1], "x", 1), 1);
  int status = 0;
  ::waitpid(pid, &status, 0);
  auto free_now = fs_->LockFile(path);
  EXPECT_TRUE(free_now.ok()) << free_now.status().ToString();
  for (int fd : {to_child[0], to_child[1], to_parent[0], to_parent[1]}) ::close(fd);
}

TEST_F(PosixFileSystemTest, DiskFullIsNoSpace) {
  // /dev/full fails every write with ENOSPC.
  auto f = fs_->NewAppendableFile("/dev/full");
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  Status s = (*f)->Append("data");
  EXPECT_EQ(s.code(), StatusCode::kNoSpace) << s.ToString();
  EXPECT_TRUE(s.retryable());
  EXPECT_NE(s.message().find("/dev/full"), std::string::npos);
}

TEST_F(PosixFileSystemTest, SyncAndSyncDirSucceedOnRealFiles) {
  const std::string path = tmp_->Child("f");
  auto f = fs_->NewWritableFile(path);
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->Append("abc").ok());
  EXPECT_TRUE((*f)->Sync().ok());
  EXPECT_TRUE((*f)->Close().ok());
  EXPECT_TRUE((*f)->Close().ok());  // closing twice is harmless
  EXPECT_TRUE(fs_->SyncDir(tmp_->path()).ok());
  EXPECT_FALSE(fs_->SyncDir(path).ok());  // not a directory
}

TEST_F(PosixFileSystemTest, ScopedTempDirIsRemovedWithItsContents) {
  std::string path;
  {
    auto dir = ScopedTempDir::Create("owsync-scoped-");
    ASSERT_TRUE(dir.ok());
    path = dir->path();
    EXPECT_EQ(ModeOf(path), 0700u);
    ASSERT_TRUE(fs_->CreateDirs(dir->Child("x/y")).ok());
    ASSERT_TRUE(WriteFileAtomically(fs_.get(), dir->Child("x/y/f"), "data").ok());
    EXPECT_TRUE(fs_->FileExists(path));
  }
  EXPECT_FALSE(fs_->FileExists(path));
}

}  // namespace
}  // namespace owsync
