// `owsync outbox verify|dump|stats DIR`: offline inspection of one tenant's outbox. None of them
// takes the writer's lock or writes a byte, so they are safe next to a running capture (they
// read up to its durable watermark). Exit codes: 0 fine, 1 the outbox has a problem (verify) or
// reading it failed, 2 the command could not run (no such outbox, bad arguments).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/cli_context.h"
#include "outbox/outbox_reader.h"
#include "outbox/outbox_stats.h"
#include "outbox/outbox_verifier.h"
#include "outbox/record_json.h"

namespace owsync::cli {
namespace {

using outbox::OutboxReader;
using outbox::OutboxReaderOptions;
using outbox::OutboxStats;
using outbox::OutboxVerifier;
using outbox::Record;
using outbox::RecordJson;

std::string OptionalOffset(const std::optional<uint64_t>& v) {
  return v ? std::to_string(*v) : std::string("none");
}

int RunVerify(const std::string& dir, CliContext* ctx) {
  auto report = OutboxVerifier::Verify(ctx->fs, dir);
  if (!report.ok()) {
    std::cerr << "outbox verify: " << report.status().ToString() << "\n";
    return 2;
  }
  for (const std::string& note : report->notes) std::cout << "note: " << note << "\n";
  if (!report->ok) {
    std::cout << "CORRUPT: " << report->error << "\n";
    return 1;
  }
  std::cout << "ok: outbox " << report->outbox_id << " (database generation \""
            << report->database_generation << "\"): " << report->segments << " segment(s), "
            << report->blocks << " block(s), " << report->records << " record(s), offsets "
            << report->first_offset << ".." << report->last_offset << ", durable "
            << OptionalOffset(report->watermark
                                  ? std::optional<uint64_t>(report->watermark->durable_offset)
                                  : std::nullopt)
            << ", acked "
            << OptionalOffset(report->acked ? std::optional<uint64_t>(report->acked->acked_offset)
                                            : std::nullopt)
            << "\n";
  return 0;
}

int RunDump(const std::string& dir, uint64_t from, bool as_json, CliContext* ctx) {
  auto reader = OutboxReader::Open(ctx->fs, dir, from);
  if (!reader.ok()) {
    std::cerr << "outbox dump: " << reader.status().ToString() << "\n";
    return 2;
  }
  if (!(*reader)->has_watermark()) {
    // No valid DURABLE (a crashed writer not reopened yet): show every complete valid block.
    std::cerr << "outbox dump: warning: " << dir
              << " has no valid durable watermark; showing every complete block, some of which "
                 "may not be durable\n";
    OutboxReaderOptions options;
    options.ignore_watermark = true;
    reader = OutboxReader::Open(ctx->fs, dir, from, options);
    if (!reader.ok()) {
      std::cerr << "outbox dump: " << reader.status().ToString() << "\n";
      return 2;
    }
  }
  Record record;
  std::string line;
  while (true) {
    auto more = (*reader)->Next(&record);
    if (!more.ok()) {
      std::cout.flush();
      std::cerr << "outbox dump: " << more.status().ToString() << "\n";
      return 1;
    }
    if (!*more) break;
    line = as_json ? RecordJson::ToJson(record) : RecordJson::ToText(record);
    line += '\n';
    std::cout.write(line.data(), static_cast<std::streamsize>(line.size()));
  }
  std::cout.flush();
  return 0;
}

int RunStats(const std::string& dir, bool as_json, CliContext* ctx) {
  auto stats = OutboxStats::Collect(ctx->fs, dir);
  if (!stats.ok()) {
    std::cerr << "outbox stats: " << stats.status().ToString() << "\n";
    return 2;
  }
  const auto& s = *stats;
  const double ratio =
      s.stored_payload_bytes == 0
          ? 0.0
          : static_cast<double>(s.raw_payload_bytes) / static_cast<double>(s.stored_payload_bytes);
  std::optional<uint64_t> durable, acked;
  if (s.watermark) durable = s.watermark->durable_offset;
  if (s.acked) acked = s.acked->acked_offset;
  if (as_json) {
    nlohmann::json j = {{"outbox_id", s.outbox_id},
                        {"database_generation", s.database_generation},
                        {"segments", s.segments},
                        {"blocks", s.blocks},
                        {"records", s.records},
                        {"bytes_on_disk", s.bytes_on_disk},
                        {"raw_payload_bytes", s.raw_payload_bytes},
                        {"stored_payload_bytes", s.stored_payload_bytes},
                        {"compression_ratio", ratio},
                        {"first_offset", s.first_offset},
                        {"last_offset", s.last_offset},
                        {"durable_offset", nullptr},
                        {"acked_offset", nullptr},
                        {"acked_outbox_id", nullptr},
                        {"retired_generations", s.retired_generations},
                        {"retired_bytes", s.retired_bytes},
                        {"notes", s.notes}};
    if (durable) j["durable_offset"] = *durable;
    if (acked) j["acked_offset"] = *acked;
    if (s.acked) j["acked_outbox_id"] = s.acked->outbox_id;
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  char ratio_text[32];
  std::snprintf(ratio_text, sizeof(ratio_text), "%.2f", ratio);
  std::cout << "outbox_id:            " << s.outbox_id << "\n"
            << "database_generation:  \"" << s.database_generation << "\"\n"
            << "segments:             " << s.segments << " (" << s.bytes_on_disk
            << " bytes on disk)\n"
            << "records:              " << s.records << " in " << s.blocks << " block(s)\n"
            << "payload bytes:        " << s.raw_payload_bytes << " raw, " << s.stored_payload_bytes
            << " stored (compression ratio " << ratio_text << ")\n"
            << "offsets:              first " << s.first_offset << ", last " << s.last_offset
            << ", durable " << OptionalOffset(durable) << ", acked " << OptionalOffset(acked);
  if (s.acked && s.acked->outbox_id != s.outbox_id) {
    std::cout << " (of another outbox: " << s.acked->outbox_id << ")";
  }
  std::cout << "\n"
            << "retired generations:  " << s.retired_generations << " (" << s.retired_bytes
            << " bytes)\n";
  for (const std::string& note : s.notes) std::cout << "note: " << note << "\n";
  return 0;
}

}  // namespace

void AddOutboxCommands(CLI::App* app, CliContext* ctx) {
  CLI::App* outbox = app->add_subcommand(
      "outbox",
      "Inspect a tenant's outbox directory offline. Never takes the writer's lock and never "
      "writes: safe while capture runs (reads up to its durable watermark).");
  outbox->require_subcommand(1);

  auto verify_dir = std::make_shared<std::string>();
  CLI::App* verify = outbox->add_subcommand(
      "verify",
      "Check every crc, zstd frame and record, offset continuity and that segment headers, "
      "IDENTITY, DURABLE and ACKED agree. Exit 0 when sound; 1 naming the first bad file and "
      "byte offset; 2 when it cannot run.");
  verify->add_option("DIR", *verify_dir, "outbox directory")->required();
  verify->callback([ctx, verify_dir] { ctx->exit_code = RunVerify(*verify_dir, ctx); });

  struct DumpFlags {
    std::string dir;
    uint64_t from = 0;
    bool json = false;
  };
  auto dump_flags = std::make_shared<DumpFlags>();
  CLI::App* dump = outbox->add_subcommand(
      "dump",
      "Print the records up to the durable watermark, one per line. --json prints one JSON "
      "object per record in the exact encoding of docs/outbox-format.md (reals as strings, "
      "non-UTF-8 text and blobs as base64).");
  dump->add_option("DIR", dump_flags->dir, "outbox directory")->required();
  dump->add_option("--from", dump_flags->from,
                   "first offset to print (default: the first retained one)");
  dump->add_flag("--json", dump_flags->json, "one JSON object per line");
  dump->callback([ctx, dump_flags] {
    ctx->exit_code = RunDump(dump_flags->dir, dump_flags->from, dump_flags->json, ctx);
  });

  struct StatsFlags {
    std::string dir;
    bool json = false;
  };
  auto stats_flags = std::make_shared<StatsFlags>();
  CLI::App* stats = outbox->add_subcommand(
      "stats",
      "Segments, records, bytes on disk, compression ratio, first/last/durable/acked offsets and "
      "ids, from block headers only (cheap; `verify` checks the payloads).");
  stats->add_option("DIR", stats_flags->dir, "outbox directory")->required();
  stats->add_flag("--json", stats_flags->json, "print one JSON object");
  stats->callback(
      [ctx, stats_flags] { ctx->exit_code = RunStats(stats_flags->dir, stats_flags->json, ctx); });
}

}  // namespace owsync::cli
