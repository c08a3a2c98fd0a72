// The on-disk format of an outbox directory: constants and layouts only (docs/outbox-format.md
// says the same in prose for someone writing a second reader). All integers are little-endian;
// "varint" is unsigned LEB128 (at most 10 bytes), "zigzag" maps 0,-1,1,-2,.. to 0,1,2,3,..;
// crc32c is CRC-32C (Castagnoli), unmasked, initial value 0 (util/crc32c.h).
//
// Directory (files 0600, directories 0700):
//   LOCK                  flock(2)ed by the single writer for its lifetime; no contents.
//   IDENTITY              text, replaced atomically (temp file, fsync, rename, fsync dir):
//                           "owsync-outbox-identity 1\noutbox_id=<id>\ndatabase_generation=<g>\n"
//   DURABLE               the durable watermark: an append-only array of 44-byte slots (below);
//                           the newest valid slot wins. Never fsynced (see below).
//   ACKED                 text, written atomically by the shipper:
//                           "owsync-outbox-acked 1\noutbox_id=<id>\nacked_offset=<decimal>\n"
//   <20 digits>.seg       a segment, named by its first offset, zero-padded decimal:
//                           00000000000000000001.seg. The one with the highest name is active
//                           (appended to); every other one is sealed (immutable).
//   retired/<old id>/     segments of a replaced generation, moved aside, never deleted.
//
// Segment file:
//   +---------------------+---------+---------+---------+---------+---------+
//   | segment header (H)  | block 0 | block 1 |   ...   | block k | (torn?) |
//   +---------------------+---------+---------+---------+---------+---------+
// Segment header, H = 32 + n + m bytes:
//   0   8  magic "OWSYNCSG"
//   8   4  format version (1)
//   12  4  H, the header length including its crc
//   16  8  first offset (the offset of the segment's first record; equals the file name)
//   24  2  n, then n bytes: outbox id (1..255 printable ASCII bytes)
//   26+n 2 m, then m bytes: database generation (0..255 printable ASCII bytes)
//   H-4 4  crc32c of bytes [0, H-4)
// Block, 36-byte header + P payload bytes, blocks back to back with no padding:
//   0   4  magic "OWBK"
//   4   4  P, payload bytes as stored
//   8   4  U, payload bytes after decompression (P == U when uncompressed)
//   12  1  compression: 0 none, 1 zstd (one zstd frame)
//   13  3  reserved, zero
//   16  4  record count N (>= 1)
//   20  8  offset of the block's first record; record i has offset first + i
//   28  4  crc32c of the P stored payload bytes
//   32  4  crc32c of header bytes [0, 32)
// The payload (after decompression) is N records, each a varint body length L then L bytes:
//   u8 type (1 upsert, 2 delete, 3 schema, 4 snapshot begin, 5 snapshot end, 6 verify)
//   varint source_seq
//   varint length + bytes: table name
//   varint count, values: key          varint count, values: row
//   varint count, columns: each varint length + name, varint length + declared type,
//                          varint key_position, u8 not_null (0 or 1)
//   varint snapshot_begin_offset
//   optional: varint length (>= 1) + bytes: capture token (the capture's drain token; absent
//             when the record has none; added within version 1: a reader accepts its absence)
// Every other field is always present (empty lists are a zero count). A verify record (type 6,
// outbox/verify_range.h) uses the fields so: columns = the table's columns (what was hashed),
// key = the range's lower bound (exclusive; no values = from the first key), row = values:
//   [flags (integer: 1 = upper bound given, 2 = keys only, no range), n (integer),
//    upper bound (key-width values, when flag 1), then n times: key values + digest (an 8-byte
//    blob, little-endian RowDigest, canonical/row_digest.h)]
// A value is a tag byte, then:
//   0 NULL: nothing            1 integer: zigzag varint of the int64
//   2 real: the 8 bytes of the IEEE-754 binary64 bit pattern (NaN payloads, -0.0 kept)
//   3 text, 4 blob: varint length + raw bytes (NUL bytes and invalid UTF-8 kept)
//
// DURABLE slot, 44 bytes. The writer appends one after every fsync of segment data, and starts
// the file over (truncate, then one slot) once it would pass 4096 bytes:
//   0   4  magic "OWDM"        4  4  version (1)
//   8   8  FNV-1a 64 hash of the outbox id bytes
//   16  8  durable offset: every record at or below it is fsynced (first offset - 1 if none)
//   24  8  first offset (name) of the segment holding the end of the durable data
//   32  8  byte position in that segment up to which data is durable (a block boundary)
//   40  4  crc32c of bytes [0, 40)
// Every value a slot ever holds was durable when written, so the file needs no fsync; after a
// crash the writer rewrites it once it has recovered. A reader uses the last complete valid
// slot; if there is none (file being started over, torn by a crash) it re-reads later.
//
// Recovery (writer only, holding LOCK): in the active segment, an incomplete block or a bad block
// with no valid block after it is a torn tail and is truncated; a bad block followed by a valid
// one, or any bad byte in a sealed segment, is corruption (reported, never skipped).
#ifndef OWSYNC_OUTBOX_FORMAT_H_
#define OWSYNC_OUTBOX_FORMAT_H_

#include <cstddef>
#include <cstdint>

namespace owsync::outbox::format {

// Directory entries.
inline constexpr char kLockFileName[] = "LOCK";
inline constexpr char kIdentityFileName[] = "IDENTITY";
inline constexpr char kDurableFileName[] = "DURABLE";
inline constexpr char kAckedFileName[] = "ACKED";
inline constexpr char kRetiredDirName[] = "retired";
inline constexpr char kSegmentSuffix[] = ".seg";
inline constexpr size_t kSegmentNameDigits = 20;
inline constexpr char kIdentityFirstLine[] = "owsync-outbox-identity 1";
inline constexpr char kAckedFirstLine[] = "owsync-outbox-acked 1";
inline constexpr size_t kMaxIdBytes = 255;

// Segment header.
inline constexpr char kSegmentMagic[8] = {'O', 'W', 'S', 'Y', 'N', 'C', 'S', 'G'};
inline constexpr uint32_t kFormatVersion = 1;
inline constexpr size_t kSegmentHeaderPrefixBytes = 16;  // magic, version, H
inline constexpr size_t kSegmentHeaderMinBytes = 32;     // H with empty ids
inline constexpr size_t kSegmentHeaderMaxBytes = kSegmentHeaderMinBytes + 2 * kMaxIdBytes;

// Block.
inline constexpr char kBlockMagic[4] = {'O', 'W', 'B', 'K'};
inline constexpr size_t kBlockHeaderBytes = 36;
inline constexpr uint8_t kCompressionNone = 0;
inline constexpr uint8_t kCompressionZstd = 1;
// Largest U (and P) a writer produces and a reader accepts: 2 GiB.
inline constexpr uint64_t kMaxBlockBytes = uint64_t{1} << 31;

// Record and value tags.
inline constexpr uint8_t kRecordTypeMin = 1;
inline constexpr uint8_t kRecordTypeMax = 6;
inline constexpr uint8_t kValueNull = 0;
inline constexpr uint8_t kValueInteger = 1;
inline constexpr uint8_t kValueReal = 2;
inline constexpr uint8_t kValueText = 3;
inline constexpr uint8_t kValueBlob = 4;

// DURABLE.
inline constexpr char kDurableMagic[4] = {'O', 'W', 'D', 'M'};
inline constexpr uint32_t kDurableVersion = 1;
inline constexpr size_t kDurableSlotBytes = 44;
inline constexpr size_t kDurableFileMaxBytes = 4096;
inline constexpr uint64_t kFnvOffsetBasis = 14695981039346656037ull;
inline constexpr uint64_t kFnvPrime = 1099511628211ull;

}  // namespace owsync::outbox::format

#endif  // OWSYNC_OUTBOX_FORMAT_H_
