// BlockCompressor: turns a run of framed records into one block (outbox/format.h): zstd at the
// configured level, or stored as is when compression does not make it smaller. Reuses one zstd
// context and one output buffer; not thread-safe (one per writer).
#ifndef OWSYNC_OUTBOX_BLOCK_COMPRESSOR_H_
#define OWSYNC_OUTBOX_BLOCK_COMPRESSOR_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "util/status.h"

namespace owsync::outbox {

struct BuiltBlock {
  // The bytes of the block on disk are `head` followed by `tail`. `head` always starts with the
  // 36 header bytes. Both views stay valid until the next Build() (and while `records` lives).
  std::string_view head;
  std::string_view tail;
  uint64_t size() const { return head.size() + tail.size(); }
};

class BlockCompressor {
 public:
  explicit BlockCompressor(int level);
  ~BlockCompressor();
  BlockCompressor(const BlockCompressor&) = delete;
  BlockCompressor& operator=(const BlockCompressor&) = delete;

  // Builds the block holding `count` framed records `records` whose first has `first_offset`.
  // InvalidArgument if the records exceed the format's block size; Internal on a zstd failure.
  [[nodiscard]] Status Build(std::string_view records, uint32_t count, uint64_t first_offset,
                             BuiltBlock* out);

 private:
  struct Context;
  std::unique_ptr<Context> ctx_;
  int level_;
  std::string buffer_;  // header + compressed payload
};

}  // namespace owsync::outbox

#endif  // OWSYNC_OUTBOX_BLOCK_COMPRESSOR_H_
