/*
 * test_finalize_stream.c - the finaliser's two ways to a file agree,
 * and the events decoder on two cores reads what one core reads.
 *
 * A big synthetic recording (several threads, each past one OPS chunk
 * of ops, over the size where decoding goes parallel) with the cases
 * the layout must keep: frees on other threads, reallocs, a failed
 * realloc, size queries, a dropped free, exit marks followed by more
 * frees, a thread without its start mark, zstd-compressed EVENTS
 * chunks (the reader reuses its buffer for those).  Then damage in two
 * threads' chunks: the first in the file is the one reported.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

#include "check.h"
#include "trace_format.h"

#define ERR_CAP 512
#define THREADS 4
#define EVENTS_PER_CHUNK 2000
#define CHUNKS_PER_THREAD 40     /* 80,000 events: past 65,536 a chunk */
#define LIVE 64                  /* blocks each thread keeps live */

struct big {
    uint8_t *buf;
    size_t len, cap;
    uint64_t seq[THREADS];
    size_t chunk_at[THREADS][CHUNKS_PER_THREAD];  /* chunk offsets */
    size_t tag_at[THREADS][CHUNKS_PER_THREAD];    /* first event tag */
    size_t chunk_len[THREADS][CHUNKS_PER_THREAD]; /* payload bytes */
};

static void big_chunk(struct big *b, unsigned type, const uint8_t *payload,
                      size_t len, int compress)
{
    size_t need = TRACE_CHUNK_HEADER_SIZE + ZSTD_compressBound(len);
    if (b->len + need > b->cap) {
        b->cap = 2 * (b->len + need);
        b->buf = realloc(b->buf, b->cap);
        CHECK(b->buf != NULL);
    }
    uint8_t *chunk = b->buf + b->len;
    size_t stored = len;
    unsigned flags = 0;
    if (compress) {
        stored = ZSTD_compress(chunk + TRACE_CHUNK_HEADER_SIZE, need -
                               TRACE_CHUNK_HEADER_SIZE, payload, len, 1);
        CHECK(!ZSTD_isError(stored));
        flags = TRACE_CHUNK_ZSTD;
    } else {
        memcpy(chunk + TRACE_CHUNK_HEADER_SIZE, payload, len);
    }
    trace_seal_chunk(chunk, type, flags, stored, len);
    b->len += TRACE_CHUNK_HEADER_SIZE + stored;
}

static void big_header(struct big *b)
{
    uint8_t payload[256];
    struct trace_header_info h = { .pid = 7, .start_clock_ns = 1000,
                                   .clock_id = TRACE_CLOCK_MONOTONIC_NS,
                                   .clock_hz = TRACE_NS_PER_SEC,
                                   .command_line = "big", .command_len = 3 };
    memset(b, 0, sizeof(*b));
    b->cap = 1 << 20;
    b->buf = malloc(b->cap);
    CHECK(b->buf != NULL);
    trace_put_file_header(b->buf);
    b->len = TRACE_FILE_HEADER_SIZE;
    big_chunk(b, TRACE_CHUNK_HEADER, payload,
              trace_encode_header(payload, sizeof(payload), &h), 0);
}

/* Event i of thread th: its own blocks come and go, every 7th free
 * takes the block of the thread before it (a cross-thread free),
 * reallocs and queries mixed in.  Addresses: thread in the high bits. */
static struct trace_event big_event(unsigned th, uint64_t i)
{
    uint64_t slot = i / 2 % LIVE, round = i / (2 * LIVE);
    uint64_t mine = ((uint64_t)th + 1) << 32 | (slot << 12 | round % 2);
    uint64_t prev = ((uint64_t)(th + THREADS - 1) % THREADS + 1) << 32 |
                    (slot << 12 | round % 2);
    struct trace_event e = { .time = 2000 + 3 * i + th, .size = 16 + i % 900 };
    e.t_after = e.time;
    if (i % 2 == 0) {
        e.kind = i % 10 == 4 ? TRACE_CALLOC : TRACE_MALLOC;
        e.arg = e.kind == TRACE_CALLOC ? 3 : 0;
        e.ptr = mine;
    } else if (i % 14 == 7) {
        e.kind = TRACE_FREE;
        e.old_ptr = prev;              /* maybe not live: dropped */
        e.size = 0;
    } else if (i % 6 == 3) {
        e.kind = TRACE_REALLOC;
        e.old_ptr = e.ptr = mine;      /* in place */
        e.t_after = e.time + 1;
    } else if (i % 10 == 9) {
        e.kind = TRACE_USABLE_SIZE;
        e.old_ptr = mine;
    } else {
        e.kind = TRACE_FREE;
        e.old_ptr = mine;
        e.size = 0;
    }
    return e;
}

/* One EVENTS chunk of thread th, events [first, first + n). */
static void big_events(struct big *b, unsigned th, uint64_t first,
                       size_t n, int compress)
{
    static uint8_t payload[EVENTS_PER_CHUNK * TRACE_EVENT_MAX_BYTES + 64];
    uint8_t *p = payload;
    struct trace_event e = big_event(th, first);
    struct trace_codec_state s = { e.time, 0 };
    p = trace_put_events_preamble(p, th, 500 + th, b->seq[th], e.time);
    if (b->seq[th] == 0 && th != 2) {   /* thread 2 lacks its start */
        struct trace_event start = { .time = e.time,
                                     .kind = TRACE_THREAD_START };
        p = trace_encode_event(p, &s, &start);
    }
    b->tag_at[th][b->seq[th]] = b->len + TRACE_CHUNK_HEADER_SIZE +
                                (size_t)(p - payload);
    for (uint64_t i = first; i < first + n; i++) {
        e = big_event(th, i);
        p = trace_encode_event(p, &s, &e);
        if (i == first + n / 2 && b->seq[th] == CHUNKS_PER_THREAD - 1) {
            struct trace_event exit = { .time = e.time,
                                        .kind = TRACE_THREAD_EXIT };
            p = trace_encode_event(p, &s, &exit);  /* frees follow */
        }
    }
    b->chunk_len[th][b->seq[th]] = (size_t)(p - payload);
    b->chunk_at[th][b->seq[th]++] = b->len;
    big_chunk(b, TRACE_CHUNK_EVENTS, payload, (size_t)(p - payload),
              compress);
}

static void big_build(struct big *b)
{
    big_header(b);
    for (unsigned c = 0; c < CHUNKS_PER_THREAD; c++)
        for (unsigned th = 0; th < THREADS; th++)
            big_events(b, th, (uint64_t)c * EVENTS_PER_CHUNK,
                       EVENTS_PER_CHUNK, c % 9 == 4);
    uint8_t payload[64];
    big_chunk(b, TRACE_CHUNK_END, payload,
              trace_encode_end(payload, sizeof(payload), 0, 900000, 0), 0);
}

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL);
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    rewind(f);
    uint8_t *data = malloc(*len + 1);
    CHECK(data && fread(data, 1, *len, f) == *len);
    fclose(f);
    return data;
}

static void check_same_file(const struct big *b, uint64_t unit)
{
    char a[] = "/tmp/mallard-whole-XXXXXX", s[] = "/tmp/mallard-stream-XXXXXX";
    char err[ERR_CAP];
    struct trace_raw raw;
    struct trace t, sum;
    struct trace_finalize_report rw, rs;
    close(mkstemp(a));
    close(mkstemp(s));
    CHECK(trace_raw_read("big", b->buf, b->len, &raw, err, ERR_CAP) == 0);
    CHECK(trace_finalize(&raw, &t, &rw, err, ERR_CAP) == 0);
    CHECK(trace_write_final(a, &raw, &t, 3, unit, err, ERR_CAP) == 0);
    CHECK(trace_finalize_write(s, &raw, 3, unit, &sum, &rs, err,
                               ERR_CAP) == 0);
    CHECK(rw.dropped_frees > 0 && rw.dropped_frees == rs.dropped_frees);
    CHECK(sum.thread_count == THREADS && sum.slot_count == t.slot_count);
    CHECK(sum.peak_live_bytes == t.peak_live_bytes && !sum.truncated);
    uint64_t edges = 0;
    for (unsigned i = 0; i < THREADS; i++) {
        for (uint64_t j = 0; j < t.threads[i].op_count; j++)
            edges += t.threads[i].ops[j].dep_thread != TRACE_NO_DEP;
        CHECK(sum.threads[i].op_count == t.threads[i].op_count);
        CHECK(t.threads[i].op_count > 65536);   /* two OPS chunks */
        CHECK(t.threads[i].ops[0].kind == TRACE_THREAD_START);
        CHECK(t.threads[i].ops[t.threads[i].op_count - 1].kind ==
              TRACE_THREAD_EXIT);
    }
    CHECK(edges > 1000);                /* blocks cross threads */
    size_t la, ls;
    uint8_t *da = slurp(a, &la), *ds = slurp(s, &ls);
    CHECK(la == ls && memcmp(da, ds, la) == 0);
    free(da);
    free(ds);
    trace_free(&t);
    trace_free(&sum);
    trace_raw_free(&raw);
    unlink(a);
    unlink(s);
}

static void test_streaming_file_equals_whole_trace_file(void)
{
    struct big b;
    big_build(&b);
    CHECK(b.len > ((size_t)1 << 20));   /* two cores: DECODE_PARALLEL_MIN */
    check_same_file(&b, 1);
    check_same_file(&b, 10000);
    free(b.buf);
}

/* Replaces the first event tag of thread th's chunk c by an unknown
 * kind, resealing the chunk so that only the event decoder sees it. */
static size_t big_break(struct big *b, unsigned th, unsigned c)
{
    size_t at = b->tag_at[th][c];
    CHECK(c % 9 != 4);                  /* not a compressed chunk */
    b->buf[at] = 0x0f;
    trace_seal_chunk(b->buf + b->chunk_at[th][c], TRACE_CHUNK_EVENTS, 0,
                     b->chunk_len[th][c], b->chunk_len[th][c]);
    return at;
}

/* Bad tags late in thread 0 and earlier in thread 1: whichever decoder
 * meets its own first, the message names the first in the file. */
static void test_first_damage_in_the_file_is_reported(void)
{
    struct big b;
    struct trace t;
    char err[ERR_CAP], want[64];
    big_build(&b);
    big_break(&b, 0, 30);
    size_t early = big_break(&b, 1, 20);
    CHECK(trace_load_buffer("big", b.buf, b.len, &t, err, ERR_CAP) < 0);
    snprintf(want, sizeof(want), "offset %zu: expected an event tag",
             early);
    CHECK(strstr(err, want) != NULL);
    big_break(&b, 3, 2);                /* earlier still, thread 3 */
    CHECK(trace_load_buffer("big", b.buf, b.len, &t, err, ERR_CAP) < 0);
    snprintf(want, sizeof(want), "offset %zu: expected an event tag",
             b.tag_at[3][2]);
    CHECK(strstr(err, want) != NULL);
    free(b.buf);
}

int main(void)
{
    test_streaming_file_equals_whole_trace_file();
    test_first_damage_in_the_file_is_reported();
    CHECK_DONE();
}
