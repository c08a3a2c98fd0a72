// Shared helpers of the capture benchmarks (header-only: only *_bench.cc files are compiled in
// bench/). A benchmark here is a plain main() that prints a table; every ratio it prints is
// against a baseline measured in the same run. Errors end the process with a message (exit 1):
// a benchmark that cannot run its workload must not print numbers.
//
// What is here: flags (--quick, also OWSYNC_BENCH_QUICK=1), a minimal RAII application
// connection (raw sqlite3, as an application would use it), statistics, deterministic
// Open WebUI-like payloads (chat_message rows ~400 B, chat JSON ~20 KB), capture set-up through
// the capture library (CaptureLoop), and CPU accounting of processes from /proc.
#ifndef OWSYNC_BENCH_BENCH_UTIL_H_
#define OWSYNC_BENCH_BENCH_UTIL_H_

#include <dirent.h>
#include <fmt/format.h>
#include <sqlite3.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "capture/capture_loop.h"
#include "capture/capture_options.h"
#include "capture/outbox_high_water.h"
#include "cli/workload_generator.h"
#include "outbox/outbox_writer.h"
#include "util/clock.h"
#include "util/file_system.h"
#include "util/logger.h"
#include "util/result.h"
#include "util/status.h"

namespace owsync::bench {

[[noreturn]] inline void Die(std::string_view what) {
  fmt::print(stderr, "benchmark failed: {}\n", what);
  std::exit(1);
}

inline void Check(const Status& s, std::string_view what) {
  if (!s.ok()) Die(fmt::format("{}: {}", what, s.ToString()));
}

template <typename T>
T Take(Result<T> r, std::string_view what) {
  if (!r.ok()) Die(fmt::format("{}: {}", what, r.status().ToString()));
  return std::move(r).value();
}

// --quick (or OWSYNC_BENCH_QUICK=1): a fast smoke run with smaller sizes and fewer rounds.
struct BenchFlags {
  bool quick = false;
  std::vector<std::string> rest;  // other arguments, for the benchmark to interpret
};

inline BenchFlags ParseFlags(int argc, char** argv) {
  BenchFlags f;
  const char* env = std::getenv("OWSYNC_BENCH_QUICK");
  f.quick = env != nullptr && std::string_view(env) == "1";
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--quick") {
      f.quick = true;
    } else if (a == "--help" || a == "-h") {
      fmt::print(
          "usage: {} [--quick]   (OWSYNC_BENCH_QUICK=1 works too; TMPDIR decides where "
          "the databases and outboxes live)\n",
          argv[0]);
      std::exit(0);
    } else {
      f.rest.emplace_back(a);
    }
  }
  return f;
}

// ---------------------------------------------------------------- time and statistics

// Seconds on the monotonic clock (util/clock.h).
inline double NowSeconds(Clock* clock) { return clock->MonotonicMicros() / 1e6; }

// CPU time (user + system) of this process so far, in seconds: a figure the other load on a
// shared machine does not inflate the way it inflates wall time.
inline double ProcessCpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

inline double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// Nearest-rank percentile, p in [0, 100].
inline double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t rank = static_cast<size_t>(p / 100.0 * static_cast<double>(v.size()) + 0.999999);
  rank = std::clamp<size_t>(rank, 1, v.size());
  return v[rank - 1];
}

// Median time of one 4 KiB append + fdatasync in `dir`, in milliseconds: how fast the disk
// under the databases makes data durable right now (it varies a lot on a shared machine, and
// the FULL configurations are bound by it).
inline double FsyncProbeMillis(FileSystem* fs, Clock* clock, const std::string& dir) {
  const std::string path = JoinPath(dir, "fsync-probe");
  auto file = Take(fs->NewWritableFile(path), "fsync probe");
  const std::string block(4096, 'x');
  std::vector<double> ms;
  for (int i = 0; i < 15; ++i) {
    double t0 = NowSeconds(clock);
    Check(file->Append(block), "fsync probe append");
    Check(file->Sync(), "fsync probe sync");
    ms.push_back((NowSeconds(clock) - t0) * 1e3);
  }
  Check(file->Close(), "fsync probe close");
  Check(fs->DeleteFile(path), "fsync probe delete");
  return Median(ms);
}

// "1.08x" style, and the verdict against an upper bound.
inline std::string Verdict(bool met) { return met ? "met" : "MISSED"; }

inline std::string ReadSmallFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Load average and core count, printed with every table (the machine is shared).
inline std::string MachineLine() {
  std::string load = ReadSmallFile("/proc/loadavg");
  std::istringstream in(load);
  std::string l1, l5, l15;
  in >> l1 >> l5 >> l15;
  return fmt::format("cores={} loadavg(1/5/15 min)={}/{}/{}", std::thread::hardware_concurrency(),
                     l1, l5, l15);
}

// ---------------------------------------------------------------- application connection

// One application connection (what Open WebUI's driver holds), move-only.
class AppDb {
 public:
  AppDb() = default;
  explicit AppDb(const std::string& path, int busy_timeout_ms = 5000) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
      Die("open " + path + ": " + (db_ ? sqlite3_errmsg(db_) : "out of memory"));
    }
    sqlite3_busy_timeout(db_, busy_timeout_ms);
  }
  ~AppDb() {
    if (db_ != nullptr) sqlite3_close_v2(db_);
  }
  AppDb(AppDb&& o) noexcept : db_(o.db_) { o.db_ = nullptr; }
  AppDb& operator=(AppDb&& o) noexcept {
    std::swap(db_, o.db_);
    return *this;
  }
  AppDb(const AppDb&) = delete;
  AppDb& operator=(const AppDb&) = delete;

  // Runs `sql`; any error ends the benchmark.
  void Exec(const std::string& sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
      std::string msg = err ? err : "?";
      sqlite3_free(err);
      Die(sql + ": " + msg);
    }
  }
  // Runs `sql` and returns SQLite's result code (for statements that may meet SQLITE_BUSY).
  int TryExec(const char* sql) { return sqlite3_exec(db_, sql, nullptr, nullptr, nullptr); }
  int64_t QueryInt(const std::string& sql) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &s, nullptr) != SQLITE_OK) {
      Die(sql + ": " + sqlite3_errmsg(db_));
    }
    int64_t v = 0;
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
      v = sqlite3_column_int64(s, 0);
    } else if (rc != SQLITE_DONE) {
      std::string msg = sqlite3_errmsg(db_);
      sqlite3_finalize(s);
      Die(sql + ": " + msg);
    }
    sqlite3_finalize(s);
    return v;
  }
  sqlite3* get() const { return db_; }

 private:
  sqlite3* db_ = nullptr;
};

// One prepared statement of an AppDb, move-only.
class AppStmt {
 public:
  AppStmt() = default;
  AppStmt(AppDb* db, const std::string& sql) {
    if (sqlite3_prepare_v2(db->get(), sql.c_str(), -1, &stmt_, nullptr) != SQLITE_OK) {
      Die(sql + ": " + sqlite3_errmsg(db->get()));
    }
  }
  // Prepares `sql`, returning SQLite's result code (preparing reads the schema, so it can meet
  // SQLITE_BUSY under a concurrent load); valid() tells whether it worked.
  int Prepare(AppDb* db, const std::string& sql) {
    sqlite3_finalize(stmt_);
    stmt_ = nullptr;
    return sqlite3_prepare_v2(db->get(), sql.c_str(), -1, &stmt_, nullptr);
  }
  bool valid() const { return stmt_ != nullptr; }
  ~AppStmt() { sqlite3_finalize(stmt_); }
  AppStmt(AppStmt&& o) noexcept : stmt_(o.stmt_) { o.stmt_ = nullptr; }
  AppStmt& operator=(AppStmt&& o) noexcept {
    std::swap(stmt_, o.stmt_);
    return *this;
  }
  AppStmt(const AppStmt&) = delete;
  AppStmt& operator=(const AppStmt&) = delete;

  void Text(int i, std::string_view v) {
    sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
  }
  void Int(int i, int64_t v) { sqlite3_bind_int64(stmt_, i, v); }
  // Steps once and resets; returns the result code of the step.
  int Run() {
    int rc = sqlite3_step(stmt_);
    sqlite3_reset(stmt_);
    return rc;
  }
  // Like Run(), but any result other than SQLITE_DONE/SQLITE_ROW ends the benchmark.
  void MustRun() {
    int rc = Run();
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
      Die(fmt::format("{}: {}", sqlite3_sql(stmt_), sqlite3_errstr(rc)));
    }
  }
  sqlite3_stmt* get() const { return stmt_; }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

// A new database at `path` with the Open WebUI v0.11.0 schema in `journal_mode`.
inline void CreateOpenWebUiDb(const std::string& path, const std::string& journal_mode) {
  {
    sqlite3* db = nullptr;  // create the empty file: InitDatabase opens it
    if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) Die("create " + path);
    sqlite3_close(db);
  }
  Check(cli::WorkloadGenerator::InitDatabase(path, "v0.11.0", journal_mode), "init " + path);
}

// ---------------------------------------------------------------- payloads

// Deterministic, fast random numbers (splitmix64).
class Rng {
 public:
  explicit Rng(uint64_t seed) : s_(seed) {}
  uint64_t Next() {
    uint64_t z = (s_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  uint64_t Uniform(uint64_t n) { return Next() % n; }
  bool Chance(double p) { return static_cast<double>(Next() >> 11) * 0x1.0p-53 < p; }

 private:
  uint64_t s_;
};

inline std::string Uuid(Rng* rng) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 32; ++i) {
    if (i == 8 || i == 12 || i == 16 || i == 20) out.push_back('-');
    out.push_back(kHex[rng->Uniform(16)]);
  }
  return out;
}

// English-like prose of about `bytes` bytes (compresses like chat text does, ~3x with zstd -1).
inline std::string Prose(Rng* rng, size_t bytes) {
  static const char* const kWords[] = {
      "the",       "model",   "answer",    "question", "data",    "table",   "python",
      "function",  "returns", "value",     "because",  "however", "example", "please",
      "explain",   "code",    "error",     "database", "query",   "result",  "user",
      "assistant", "system",  "context",   "token",    "memory",  "file",    "upload",
      "image",     "summary", "details",   "step",     "first",   "second",  "finally",
      "install",   "package", "version",   "server",   "client",  "request", "response",
      "json",      "string",  "number",    "list",     "object",  "array",   "loop",
      "variable",  "compile", "run",       "test",     "works",   "fails",   "because",
      "should",    "could",   "would",     "might",    "always",  "never",   "sometimes",
      "quickly",   "slowly",  "carefully", "simple",   "complex", "better",  "faster",
      "and",       "or",      "not",       "with",     "without", "for",     "in",
      "on",        "of",      "to",        "is",       "are",     "was",     "it",
      "this",      "that",    "you",       "we",       "they",    "can",     "will",
      "configure", "deploy",  "container", "docker",   "network", "latency", "throughput",
      "backup",    "restore", "migration", "schema",   "index",   "trigger", "commit"};
  constexpr size_t kCount = sizeof(kWords) / sizeof(kWords[0]);
  std::string out;
  out.reserve(bytes + 16);
  while (out.size() < bytes) {
    out += kWords[rng->Uniform(kCount)];
    uint64_t r = rng->Uniform(16);
    out += r == 0 ? ". " : (r == 1 ? ", " : " ");
    if (rng->Uniform(97) == 0) out += fmt::format("{} ", rng->Uniform(100000));
  }
  out.resize(bytes);
  return out;
}

// The `content` of a chat_message row: a JSON string of `text_bytes` of prose.
inline std::string MessageContent(Rng* rng, size_t text_bytes) {
  return "\"" + Prose(rng, text_bytes) + "\"";
}

// The `chat` JSON of a chat row, about `bytes` bytes, shaped like Open WebUI's (history with
// messages keyed by id, a messages array, models, params, tags, timestamp).
inline std::string ChatJson(Rng* rng, size_t bytes) {
  std::string history;
  std::string messages;
  std::string parent = "null";
  std::string id = Uuid(rng);
  size_t target_text = bytes > 600 ? (bytes - 400) / 2 : 100;  // text appears in both places
  size_t used = 0;
  bool user = true;
  while (used < target_text) {
    std::string mid = Uuid(rng);
    size_t len = std::min<size_t>(target_text - used,
                                  user ? 200 + rng->Uniform(400) : 800 + rng->Uniform(2400));
    used += len;
    std::string msg = fmt::format(
        R"({{"id":"{}","parentId":{},"childrenIds":[],"role":"{}","content":"{}",)"
        R"("timestamp":{},"models":["llama3.1:8b"]{}}})",
        mid, parent, user ? "user" : "assistant", Prose(rng, len),
        1700000000 + rng->Uniform(1u << 24), user ? "" : R"(,"model":"llama3.1:8b","done":true)");
    if (!history.empty()) history += ",";
    history += "\"" + mid + "\":" + msg;
    if (!messages.empty()) messages += ",";
    messages += msg;
    parent = "\"" + mid + "\"";
    user = !user;
  }
  return fmt::format(R"({{"id":"{}","title":"{}","models":["llama3.1:8b"],"params":{{}},)"
                     R"("history":{{"messages":{{{}}},"currentId":{}}},"messages":[{}],"tags":[],)"
                     R"("timestamp":{},"files":[]}})",
                     id, Prose(rng, 24), history, parent, messages,
                     1700000000000ull + rng->Uniform(1u << 30));
}

// ---------------------------------------------------------------- capture through the library

// What `owsync capture` runs with, for `db_path` and `outbox_dir`: the library's defaults
// (poll, batch sizes, group commit), the real outbox writer.
inline capture::CaptureOptions CaptureOptionsFor(FileSystem* fs, Clock* clock,
                                                 const std::string& db_path,
                                                 const std::string& outbox_dir) {
  capture::CaptureOptions o;
  o.db_path = db_path;
  o.outbox_dir = outbox_dir;
  o.client = "bench";
  o.open_writer = [fs, clock, outbox_dir](const outbox::OutboxWriterOptions& wo) {
    return outbox::OutboxWriter::Open(fs, clock, outbox_dir, wo);
  };
  o.outbox_high_water = [fs, outbox_dir](const outbox::OutboxWriter& w) {
    return capture::ScanOutboxHighWater(fs, outbox_dir, w.durable_offset(), 4096);
  };
  return o;
}

// Installs capture on the database (owsync's tables, the triggers, the initial snapshot into
// `outbox_dir`) and stops: afterwards the triggers log every change and nothing drains them.
inline void InstallCapture(FileSystem* fs, Clock* clock, Logger* logger, const std::string& db,
                           const std::string& outbox_dir) {
  capture::CaptureLoop loop(fs, clock, logger, CaptureOptionsFor(fs, clock, db, outbox_dir));
  Check(loop.RunUntilCaughtUp(), "install capture on " + db);
}

// A capture running on its own thread (CaptureLoop::Run, what `owsync capture` runs), from
// Start() (which installs and catches up first) until Stop().
class LiveCapture {
 public:
  LiveCapture(FileSystem* fs, Clock* clock, Logger* logger, const std::string& db,
              const std::string& outbox_dir)
      : loop_(fs, clock, logger, CaptureOptionsFor(fs, clock, db, outbox_dir)) {}
  ~LiveCapture() { Stop(); }
  LiveCapture(const LiveCapture&) = delete;
  LiveCapture& operator=(const LiveCapture&) = delete;

  void Start() {
    Check(loop_.RunUntilCaughtUp(), "start capture");
    thread_ = std::thread([this] { run_status_ = loop_.Run(); });
  }
  // Stops the loop (it finishes its current step and commits the outbox); idempotent.
  void Stop() {
    if (!thread_.joinable()) return;
    loop_.RequestStop();
    thread_.join();
    Check(run_status_, "capture loop");
  }
  // Only after Stop().
  capture::CaptureCounters counters() const { return loop_.counters(); }

 private:
  capture::CaptureLoop loop_;
  std::thread thread_;
  Status run_status_;
};

// ---------------------------------------------------------------- process CPU from /proc

// CPU use of a whole process (every thread) so far.
struct ProcCpu {
  double cpu_seconds = 0;          // utime + stime (clock ticks, usually 10 ms resolution)
  double sched_seconds = -1;       // sum of the threads' schedstat: time on a CPU, ns resolution
  int64_t voluntary_switches = 0;  // wakeups after sleeping, summed over the threads
  int threads = 0;
  bool ok = false;
};

inline ProcCpu ReadProcCpu(pid_t pid) {
  ProcCpu out;
  std::string stat = ReadSmallFile(fmt::format("/proc/{}/stat", pid));
  size_t close = stat.rfind(')');  // the command name may contain spaces
  if (close == std::string::npos) return out;
  std::istringstream in(stat.substr(close + 2));
  std::string field;
  long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && (in >> field); ++i) {  // fields 14 and 15 (1-based): all threads
    if (i == 14) utime = std::atoll(field.c_str());
    if (i == 15) stime = std::atoll(field.c_str());
  }
  out.cpu_seconds = static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
  // schedstat and the switch counts are per thread: sum /proc/<pid>/task/*.
  DIR* tasks = opendir(fmt::format("/proc/{}/task", pid).c_str());
  if (tasks == nullptr) return out;
  out.sched_seconds = 0;
  while (dirent* e = readdir(tasks)) {
    if (e->d_name[0] == '.') continue;
    const std::string task = fmt::format("/proc/{}/task/{}", pid, e->d_name);
    ++out.threads;
    std::string sched = ReadSmallFile(task + "/schedstat");
    if (sched.empty()) {
      out.sched_seconds = -1e18;  // not available: the sum is meaningless
    } else {
      out.sched_seconds += std::atof(sched.c_str()) / 1e9;
    }
    std::istringstream status(ReadSmallFile(task + "/status"));
    std::string line;
    while (std::getline(status, line)) {
      if (line.rfind("voluntary_ctxt_switches:", 0) == 0) {
        out.voluntary_switches += std::atoll(line.c_str() + 24);
      }
    }
  }
  closedir(tasks);
  if (out.sched_seconds < 0) out.sched_seconds = -1;
  out.ok = true;
  return out;
}

}  // namespace owsync::bench

#endif  // OWSYNC_BENCH_BENCH_UTIL_H_
