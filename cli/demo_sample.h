// DemoSample: the sample Open WebUI database of `owsync demo`, made from the v0.11.0 fixture
// schema (WAL): first `general` transactions of the workload generator's application-like mix
// over every table (users, groups, files, ...), then `chats` conversations, each one
// transaction inserting a `chat` row with its large JSON document (1-50 KB) and
// `messages_per_chat` small `chat_message` rows (~400 bytes) that point at it. Values come from
// cli/workload_values.h, odd ones included at `odd_rate` (they become dead letters when
// PostgreSQL cannot hold them). Deterministic from the seed.
#ifndef OWSYNC_CLI_DEMO_SAMPLE_H_
#define OWSYNC_CLI_DEMO_SAMPLE_H_

#include <atomic>
#include <cstdint>
#include <string>

#include "util/clock.h"
#include "util/file_system.h"
#include "util/result.h"

namespace owsync::cli {

struct DemoSampleOptions {
  std::string path;  // created; AlreadyExists if it has tables
  int64_t general = 300;
  int64_t chats = 300;
  int messages_per_chat = 10;
  double odd_rate = 0.001;
  uint64_t seed = 7;
};

struct DemoSampleReport {
  int64_t general_transactions = 0;
  int64_t general_rows = 0;  // rows those changed
  int64_t chats = 0;
  int64_t messages = 0;
  int64_t chat_json_bytes = 0;
  uint64_t database_bytes = 0;  // database plus WAL file
};

class DemoSample {
 public:
  // Creates the database. Aborted (nothing half-reported) once `stop` is set.
  static Result<DemoSampleReport> Create(FileSystem* fs, Clock* clock,
                                         const DemoSampleOptions& options,
                                         const std::atomic<bool>* stop);
};

}  // namespace owsync::cli

#endif  // OWSYNC_CLI_DEMO_SAMPLE_H_
