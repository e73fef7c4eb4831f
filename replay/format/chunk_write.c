/*
 * chunk_write.c - building the file header and chunks in memory.
 *
 * Everything here writes into caller-provided buffers and never calls
 * malloc, because the recorder calls it from inside the traced program's
 * malloc.  Integers in headers are little-endian whatever the host is.
 */
#include <string.h>

#include "format_internal.h"

static void put_le16(uint8_t *p, unsigned v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

void trace_put_file_header(uint8_t *out)
{
    memcpy(out, TRACE_MAGIC, TRACE_MAGIC_SIZE);
    put_le32(out + TRACE_MAGIC_SIZE, TRACE_VERSION);
    put_le32(out + TRACE_MAGIC_SIZE + 4, 0);
}

void trace_seal_chunk(uint8_t *chunk, unsigned type, unsigned flags,
                      size_t len, size_t raw_len)
{
    put_le16(chunk, type);
    put_le16(chunk + 2, flags);
    put_le32(chunk + 4, (uint32_t)len);
    put_le32(chunk + 8, (uint32_t)raw_len);
    uint32_t crc = trace_crc32c(0, chunk, TRACE_CHUNK_CRC_COVERED);
    crc = trace_crc32c(crc, chunk + TRACE_CHUNK_HEADER_SIZE, len);
    put_le32(chunk + TRACE_CHUNK_CRC_COVERED, crc);
}

size_t trace_encode_header(uint8_t *out, size_t cap,
                           const struct trace_header_info *h)
{
    if (cap < 8 * TRACE_VARINT_MAX + h->command_len)
        return 0;
    uint8_t *p = out;
    p = trace_put_varint(p, h->pid);
    p = trace_put_varint(p, h->ppid);
    p = trace_put_varint(p, h->start_unix_ns);
    p = trace_put_varint(p, h->start_clock_ns);
    p = trace_put_varint(p, h->clock_id);
    p = trace_put_varint(p, h->clock_hz);
    p = trace_put_varint(p, h->generation);
    p = trace_put_varint(p, h->command_len);
    memcpy(p, h->command_line, h->command_len);
    return (size_t)(p - out) + h->command_len;
}

size_t trace_encode_end(uint8_t *out, size_t cap, uint64_t flags,
                        uint64_t end_clock_ns, uint64_t events_lost)
{
    if (cap < 3 * TRACE_VARINT_MAX)
        return 0;
    uint8_t *p = out;
    p = trace_put_varint(p, flags);
    p = trace_put_varint(p, end_clock_ns);
    p = trace_put_varint(p, events_lost);
    return (size_t)(p - out);
}

size_t trace_encode_clock(uint8_t *out, size_t cap, uint64_t clock_hz)
{
    if (cap < TRACE_VARINT_MAX)
        return 0;
    return (size_t)(trace_put_varint(out, clock_hz) - out);
}

size_t trace_encode_child(uint8_t *out, size_t cap, uint64_t pid,
                          const char *path)
{
    size_t len = strlen(path);
    if (cap < 2 * TRACE_VARINT_MAX + len)
        return 0;
    uint8_t *p = out;
    p = trace_put_varint(p, pid);
    p = trace_put_varint(p, len);
    memcpy(p, path, len);
    return (size_t)(p - out) + len;
}
