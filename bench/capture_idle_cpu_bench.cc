// CPU used by an idle capture (issue 3, bench cell 4).
//
// Two databases with the Open WebUI v0.11.0 schema and a few chats, one in journal_mode=DELETE
// and one in WAL, each get an `owsync capture --db DB --outbox DIR` process (default options);
// a `sleep` process is the baseline. After the captures settled (installed, initial snapshot
// done), nothing writes to the databases for 60 s (--quick: 10 s); each process's CPU time over
// that window is read from /proc/<pid>/stat (utime+stime, clock ticks) and /proc/<pid>/schedstat
// (time on a CPU, ns; summed over the process's threads), with its wakeups (voluntary context
// switches of all threads). Goal (issue 3): an idle capture uses under 0.1 % of a core.
//
// When the `owsync` binary has no capture subcommand yet, the capture processes are forked
// children running the same library loop (CaptureLoop::Run with default options); the table
// says which. --owsync PATH names the binary (default: owsync or cli/owsync of this build tree).
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "bench/bench_util.h"
#include "util/scoped_temp_dir.h"

namespace owsync::bench {
namespace {

// Starts `args` with stdout and stderr going to `log` ("" = /dev/null). The child dies with
// this process (PR_SET_PDEATHSIG), so a failed benchmark leaves nothing running.
pid_t Spawn(const std::vector<std::string>& args, const std::string& log = "") {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::fflush(stdout);
  std::fflush(stderr);
  pid_t pid = fork();
  if (pid < 0) Die("fork");
  if (pid > 0) return pid;
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  int fd = open(log.empty() ? "/dev/null" : log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  if (fd >= 0) {
    dup2(fd, 1);
    dup2(fd, 2);
    close(fd);
  }
  execvp(argv[0], argv.data());
  _exit(127);
}

int WaitExit(pid_t pid) {
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

bool Alive(pid_t pid) {
  int status = 0;
  return waitpid(pid, &status, WNOHANG) == 0;
}

// Ends a child: SIGTERM (a capture finishes its step and exits), SIGKILL after 10 s.
void Stop(pid_t pid, Clock* clock) {
  kill(pid, SIGTERM);
  const double end = NowSeconds(clock) + 10;
  while (NowSeconds(clock) < end) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) return;
    clock->SleepForMicros(20'000);
  }
  kill(pid, SIGKILL);
  WaitExit(pid);
}

std::string DefaultOwsync() {
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "owsync";
  std::string build = DirName(DirName(std::string(buf, static_cast<size_t>(n))));
  for (const char* rel : {"/owsync", "/cli/owsync"}) {
    if (access((build + rel).c_str(), X_OK) == 0) return build + rel;
  }
  return build + "/cli/owsync";
}

// A forked child running the capture library loop (when the CLI has no capture yet).
pid_t ForkLibraryCapture(const std::string& db, const std::string& outbox_dir) {
  std::fflush(stdout);
  pid_t pid = fork();
  if (pid < 0) Die("fork");
  if (pid > 0) return pid;
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  auto fs = NewPosixFileSystem();
  auto clock = NewSystemClock();
  auto logger = NewStderrLogger("capture", LogLevel::kWarn);
  capture::CaptureLoop loop(fs.get(), clock.get(), logger.get(),
                            CaptureOptionsFor(fs.get(), clock.get(), db, outbox_dir));
  Status s = loop.Run();
  _exit(s.ok() ? 0 : 1);
}

void Prefill(const std::string& path) {
  AppDb db(path);
  Rng rng(5);
  AppStmt ins(&db,
              "INSERT INTO chat (id, user_id, title, chat, created_at, updated_at, archived, "
              "meta) VALUES (?1, 'u1', 'New Chat', ?2, 1700000000, 1700000000, 0, '{}')");
  db.Exec("BEGIN");
  for (int i = 0; i < 50; ++i) {
    std::string id = Uuid(&rng), chat = ChatJson(&rng, 20 * 1024);
    ins.Text(1, id);
    ins.Text(2, chat);
    ins.MustRun();
  }
  db.Exec("COMMIT");
}

int Main(int argc, char** argv) {
  BenchFlags flags = ParseFlags(argc, argv);
  auto clock = NewSystemClock();
  std::string owsync = DefaultOwsync();
  for (size_t i = 0; i + 1 < flags.rest.size(); ++i) {
    if (flags.rest[i] == "--owsync") owsync = flags.rest[i + 1];
  }
  const double window = flags.quick ? 10 : 60;
  const double settle = flags.quick ? 2 : 3;

  auto dir = Take(ScopedTempDir::Create("owsync-bench-idle-"), "temp dir");
  struct Proc {
    std::string name;
    pid_t pid = 0;
    std::string db;
    std::string log;
    ProcCpu a, b;
  };
  std::vector<Proc> procs;
  // The CLI is used when `owsync capture --help` describes --db and --outbox.
  bool cli = false;
  if (access(owsync.c_str(), X_OK) == 0) {
    const std::string help = dir.Child("capture-help.txt");
    WaitExit(Spawn({owsync, "capture", "--help"}, help));
    std::string text = ReadSmallFile(help);
    cli = text.find("--db") != std::string::npos && text.find("--outbox") != std::string::npos;
  }
  for (const char* journal : {"delete", "wal"}) {
    std::string db = dir.Child(std::string("webui-") + journal + ".db");
    std::string outbox_dir = dir.Child(std::string("outbox-") + journal);
    CreateOpenWebUiDb(db, journal);
    Prefill(db);
    Proc p;
    p.name = std::string("capture journal=") + journal;
    p.db = db;
    p.log = dir.Child(std::string("capture-") + journal + ".log");
    p.pid = cli ? Spawn({owsync, "capture", "--db", db, "--outbox", outbox_dir}, p.log)
                : ForkLibraryCapture(db, outbox_dir);
    procs.push_back(p);
  }
  Proc sleeper;
  sleeper.name = "sleep (baseline)";
  sleeper.pid = Spawn({"sleep", "100000"});
  procs.push_back(sleeper);

  fmt::print("capture_idle_cpu_bench: CPU of an idle capture over {:.0f} s{}\n", window,
             flags.quick ? " (--quick)" : "");
  fmt::print("  capture processes: {}\n",
             cli ? "`" + owsync + " capture --db DB --outbox DIR` (default options)"
                 : "forked children running CaptureLoop::Run with default options (`" + owsync +
                       " capture` is not available in this build)");
  fmt::print("  {}\n", MachineLine());
  std::fflush(stdout);

  clock->SleepForMicros(static_cast<int64_t>(settle * 1e6));
  auto fail = [&](const std::string& why) {
    for (const auto& p : procs) {
      if (!p.log.empty()) fmt::print(stderr, "--- {} log:\n{}", p.name, ReadSmallFile(p.log));
    }
    Die(why);  // the children die with this process (PR_SET_PDEATHSIG)
  };
  for (auto& p : procs) {
    if (!Alive(p.pid)) fail(p.name + " exited before the measurement");
  }
  for (const auto& p : procs) {
    if (p.db.empty()) continue;  // the capture installed its triggers: it is really running
    AppDb db(p.db);
    if (db.QueryInt("SELECT count(*) FROM sqlite_schema WHERE type='trigger' AND name LIKE "
                    "'\\_owsync\\_%' ESCAPE '\\'") == 0) {
      fail(p.name + " has not installed its triggers after the settle time");
    }
  }
  double t0 = NowSeconds(clock.get());
  for (auto& p : procs) p.a = ReadProcCpu(p.pid);
  clock->SleepForMicros(static_cast<int64_t>(window * 1e6));
  double t1 = NowSeconds(clock.get());
  for (auto& p : procs) p.b = ReadProcCpu(p.pid);
  for (auto& p : procs) {
    if (!Alive(p.pid) || !p.a.ok || !p.b.ok) fail(p.name + " exited during the measurement");
  }
  const double elapsed = t1 - t0;

  fmt::print("\n{:<24} {:>7} {:>12} {:>10} {:>14} {:>10} {:>10} {:>16}\n", "process", "threads",
             "cpu s (tick)", "% core", "cpu s (sched)", "% core", "wakeups/s", "goal <0.1% core");
  double sleep_pct = 0;
  for (const auto& p : procs) {
    double tick_s = p.b.cpu_seconds - p.a.cpu_seconds;
    double sched_s = p.a.sched_seconds >= 0 ? p.b.sched_seconds - p.a.sched_seconds : -1;
    double pct = 100 * (sched_s >= 0 ? sched_s : tick_s) / elapsed;
    bool is_capture = !p.db.empty();
    if (!is_capture) sleep_pct = pct;
    fmt::print("{:<24} {:>7} {:>12.2f} {:>9.4f}% {:>14.6f} {:>9.4f}% {:>10.2f} {:>16}\n", p.name,
               p.b.threads, tick_s, 100 * tick_s / elapsed, sched_s,
               sched_s >= 0 ? 100 * sched_s / elapsed : -1.0,
               static_cast<double>(p.b.voluntary_switches - p.a.voluntary_switches) / elapsed,
               is_capture ? Verdict(pct < 0.1) : "baseline");
  }
  fmt::print(
      "  window {:.1f} s; tick resolution {:.3f} s ({:.3f} % of a core over the window); "
      "the verdict uses the schedstat figure (all threads, ns); sleep: {:.4f} %\n",
      elapsed, 1.0 / static_cast<double>(sysconf(_SC_CLK_TCK)),
      100.0 / static_cast<double>(sysconf(_SC_CLK_TCK)) / elapsed, sleep_pct);
  for (auto& p : procs) Stop(p.pid, clock.get());
  fmt::print("  {}\n", MachineLine());
  return 0;
}

}  // namespace
}  // namespace owsync::bench

int main(int argc, char** argv) { return owsync::bench::Main(argc, argv); }
