// Record codec: the byte encoding of one Record inside a block payload (outbox/format.h). The
// record's offset is not part of the encoding: it follows from the block's first offset and the
// record's position in the block.
#ifndef OWSYNC_OUTBOX_RECORD_CODEC_H_
#define OWSYNC_OUTBOX_RECORD_CODEC_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "outbox/record.h"
#include "util/status.h"

namespace owsync::outbox {

// Bytes EncodeRecord appends for `record` (the body, without its length prefix).
size_t EncodedRecordSize(const Record& record);
// Appends the body of `record` to *dst.
void EncodeRecord(const Record& record, std::string* dst);
// Appends the varint body length, then the body: one record as it sits in a block payload.
void AppendFramedRecord(const Record& record, std::string* dst);
// The same, with body_size == EncodedRecordSize(record) already known.
void AppendFramedRecord(const Record& record, size_t body_size, std::string* dst);

// Decodes exactly the bytes of `body` into *record (all fields but `offset`, which is left as
// it is). Corruption saying what is wrong when the bytes are not one well-formed record; never
// reads outside `body` and never allocates more than `body` could describe.
[[nodiscard]] Status DecodeRecord(std::string_view body, Record* record);

// Takes the next framed record off the front of *payload into *body. Corruption if the length
// prefix is malformed or runs past the end.
[[nodiscard]] Status NextFramedRecord(std::string_view* payload, std::string_view* body);

}  // namespace owsync::outbox

#endif  // OWSYNC_OUTBOX_RECORD_CODEC_H_
