/*
 * test_trace_format.c - the trace module on traces built in memory
 * with its own encoders (trace_format.h, as the recorder builds them):
 * encoding round trips, the finaliser's slots, edges and counts on
 * hand-made cross-thread histories, and the reader's errors (with their
 * offsets) on damaged bytes; and files older mallards wrote, from the
 * fuzzer's corpus.  Each test names the behaviour it checks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "trace_format.h"

#define BUILD_CAP (1 << 16)
#define ERR_CAP 512
#define PATH_CAP 4096

struct builder {
    uint8_t buf[BUILD_CAP];
    size_t len;
    uint64_t seq[8];
    int no_start[8];   /* 1: the thread's stream lacks THREAD_START */
};

static void b_chunk(struct builder *b, unsigned type, const uint8_t *payload,
                    size_t len)
{
    uint8_t *chunk = b->buf + b->len;
    memcpy(chunk + TRACE_CHUNK_HEADER_SIZE, payload, len);
    trace_seal_chunk(chunk, type, 0, len, len);
    b->len += TRACE_CHUNK_HEADER_SIZE + len;
}

static void b_start_clock(struct builder *b, uint64_t clock_id,
                          uint64_t clock_hz)
{
    uint8_t payload[256];
    struct trace_header_info h = { .pid = 42, .start_clock_ns = 1000,
                                   .clock_id = clock_id,
                                   .clock_hz = clock_hz,
                                   .command_line = "test", .command_len = 4 };
    memset(b, 0, sizeof(*b));
    trace_put_file_header(b->buf);
    b->len = TRACE_FILE_HEADER_SIZE;
    b_chunk(b, TRACE_CHUNK_HEADER, payload,
            trace_encode_header(payload, sizeof(payload), &h));
}

static void b_start(struct builder *b)
{
    b_start_clock(b, TRACE_CLOCK_MONOTONIC_NS, TRACE_NS_PER_SEC);
}

/* One EVENTS chunk for thread `serial`, with THREAD_START prepended on
 * its first chunk. */
static void b_events(struct builder *b, uint64_t serial,
                     const struct trace_event *ev, size_t n)
{
    uint8_t payload[4096];
    uint8_t *p = payload;
    struct trace_codec_state s = { ev[0].time, 0 };
    p = trace_put_events_preamble(p, serial, 100 + serial, b->seq[serial],
                                  ev[0].time);
    if (b->seq[serial]++ == 0 && !b->no_start[serial]) {
        struct trace_event start = { .time = ev[0].time,
                                     .kind = TRACE_THREAD_START };
        p = trace_encode_event(p, &s, &start);
    }
    for (size_t i = 0; i < n; i++)
        p = trace_encode_event(p, &s, &ev[i]);
    b_chunk(b, TRACE_CHUNK_EVENTS, payload, (size_t)(p - payload));
}

static void b_end(struct builder *b, uint64_t flags)
{
    uint8_t payload[64];
    b_chunk(b, TRACE_CHUNK_END, payload,
            trace_encode_end(payload, sizeof(payload), flags, 5000, 0));
}

static int b_load(struct builder *b, struct trace *t, char *err)
{
    return trace_load_buffer("mem", b->buf, b->len, t, err, ERR_CAP);
}

#define EV(k, tm, p, old, sz) \
    { .kind = (k), .time = (tm), .t_after = (tm), .ptr = (p), \
      .old_ptr = (old), .size = (sz) }

static void test_varint_round_trip_at_limits(void)
{
    const uint64_t values[] = { 0, 1, 127, 128, 16383, 16384,
                                UINT32_MAX, UINT64_MAX };
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        uint8_t buf[TRACE_VARINT_MAX];
        const uint8_t *p = buf;
        uint64_t got = 0;
        uint8_t *end = trace_put_varint(buf, values[i]);
        CHECK(trace_get_varint(&p, end, &got) == 0);
        CHECK(got == values[i] && p == end);
        p = buf;
        CHECK(end - buf == 1 || trace_get_varint(&p, end - 1, &got) < 0);
        CHECK(trace_unzigzag(trace_zigzag(values[i])) == values[i]);
    }
}

static void test_free_on_other_thread_waits_for_allocation(void)
{
    struct builder b;
    struct trace t;
    char err[ERR_CAP];
    struct trace_event a[] = { EV(TRACE_MALLOC, 1010, 0x1000, 0, 64) };
    struct trace_event c[] = { EV(TRACE_FREE, 1020, 0, 0x1000, 0) };
    b_start(&b);
    b_events(&b, 0, a, 1);
    b_events(&b, 1, c, 1);
    b_end(&b, 0);
    CHECK(b_load(&b, &t, err) == 0);
    CHECK(t.thread_count == 2 && t.slot_count == 1);
    CHECK(t.threads[0].op_count == 2 && t.threads[1].op_count == 2);
    const struct trace_op *alloc = &t.threads[0].ops[1];
    const struct trace_op *freed = &t.threads[1].ops[1];
    CHECK(alloc->kind == TRACE_MALLOC && alloc->slot == 0);
    CHECK(freed->kind == TRACE_FREE && freed->old_slot == 0);
    CHECK(freed->dep_thread == 0 && freed->dep_op == 1);
    CHECK(alloc->dep_thread == TRACE_NO_DEP);
    CHECK(t.peak_live_bytes == 64 && !t.truncated);
    CHECK(t.duration_ns == 4000 && alloc->time_ns == 10);
    trace_free(&t);
}

/* Thread 1 gets the address thread 0 freed, at the same stamp: the
 * free must sort first, so the block is not "reused while live". */
static void test_reused_address_on_equal_stamp_is_not_a_lost_free(void)
{
    struct builder b;
    struct trace t;
    char err[ERR_CAP];
    struct trace_event a[] = { EV(TRACE_MALLOC, 1010, 0x2000, 0, 10),
                               EV(TRACE_FREE, 1030, 0, 0x2000, 0) };
    struct trace_event c[] = { EV(TRACE_MALLOC, 1030, 0x2000, 0, 20),
                               EV(TRACE_FREE, 1040, 0, 0x2000, 0) };
    b_start(&b);
    b_events(&b, 1, c, 2);
    b_events(&b, 0, a, 2);
    b_end(&b, 0);
    struct trace_raw raw;
    struct trace_finalize_report rep;
    CHECK(trace_raw_read("mem", b.buf, b.len, &raw, err, ERR_CAP) == 0);
    CHECK(trace_finalize(&raw, &t, &rep, err, ERR_CAP) == 0);
    CHECK(rep.missing_frees == 0 && rep.dropped_frees == 0);
    /* threads keep their own free slots: no cross-thread slot reuse */
    CHECK(t.slot_count == 2);
    CHECK(t.threads[0].ops[2].dep_thread == TRACE_NO_DEP);
    CHECK(t.threads[0].ops[1].size == 20 && t.peak_live_bytes == 20);
    trace_free(&t);
    trace_raw_free(&raw);
}

static void test_realloc_elsewhere_chains_edges(void)
{
    struct builder b;
    struct trace t;
    char err[ERR_CAP];
    struct trace_event a[] = { EV(TRACE_MALLOC, 1010, 0x3000, 0, 8),
                               EV(TRACE_FREE, 1050, 0, 0x4000, 0) };
    struct trace_event c[] = { { .kind = TRACE_REALLOC, .time = 1020,
                                 .t_after = 1025, .ptr = 0x4000,
                                 .old_ptr = 0x3000, .size = 80 } };
    b_start(&b);
    b_events(&b, 0, a, 2);
    b_events(&b, 1, c, 1);
    b_end(&b, 0);
    CHECK(b_load(&b, &t, err) == 0);
    const struct trace_op *re = &t.threads[1].ops[1];
    CHECK(re->kind == TRACE_REALLOC && re->old_slot == 0);
    CHECK(re->dep_thread == 0 && re->dep_op == 1);
    const struct trace_op *fr = &t.threads[0].ops[2];
    CHECK(fr->old_slot == re->slot && re->slot != TRACE_NO_SLOT);
    CHECK(fr->dep_thread == 1 && fr->dep_op == 1);
    CHECK(t.peak_live_bytes == 80);
    trace_free(&t);
}

static void test_free_of_unrecorded_block_is_dropped_and_counted(void)
{
    struct builder b;
    struct trace t;
    char err[ERR_CAP];
    struct trace_event a[] = { EV(TRACE_FREE, 1010, 0, 0x9999, 0),
                               EV(TRACE_FREE, 1011, 0, 0, 0),
                               EV(TRACE_USABLE_SIZE, 1011, 0, 0, 0),
                               { .kind = TRACE_REALLOC, .time = 1012,
                                 .t_after = 1013, .ptr = 0x5000,
                                 .old_ptr = 0x8888, .size = 5 } };
    b_start(&b);
    b_events(&b, 0, a, 4);
    CHECK(b_load(&b, &t, err) == 0);
    CHECK(t.dropped_frees == 2);
    /* start, free(NULL), usable_size(NULL), realloc acting as malloc:
     * the free of the unknown block is gone */
    CHECK(t.threads[0].op_count == 4);
    CHECK(t.threads[0].ops[1].kind == TRACE_FREE);
    CHECK(t.threads[0].ops[1].old_slot == TRACE_NO_SLOT);
    CHECK(t.threads[0].ops[2].old_slot == TRACE_NO_SLOT);
    CHECK(t.threads[0].ops[3].old_slot == TRACE_NO_SLOT);
    CHECK(t.threads[0].ops[3].slot == 0);
    CHECK(t.truncated);   /* no END chunk */
    trace_free(&t);
}

static void test_failed_realloc_keeps_the_old_block(void)
{
    struct builder b;
    struct trace t;
    char err[ERR_CAP];
    struct trace_event a[] = { EV(TRACE_MALLOC, 1010, 0x6000, 0, 16),
                               { .kind = TRACE_REALLOC, .time = 1020,
                                 .t_after = 1021, .ptr = 0,
                                 .old_ptr = 0x6000, .size = 1 << 30 },
                               EV(TRACE_FREE, 1030, 0, 0x6000, 0) };
    b_start(&b);
    b_events(&b, 0, a, 3);
    b_end(&b, 0);
    CHECK(b_load(&b, &t, err) == 0);
    CHECK(t.dropped_frees == 0 && t.threads[0].op_count == 4);
    CHECK(t.threads[0].ops[2].slot == TRACE_NO_SLOT);
    CHECK(t.threads[0].ops[3].old_slot == 0);
    trace_free(&t);
}

/* Frees from TLS destructors arrive after the exit mark; the exit op
 * must still be the thread's last. */
static void test_thread_exit_stays_last(void)
{
    struct builder b;
    struct trace t;
    char err[ERR_CAP];
    struct trace_event a[] = { EV(TRACE_MALLOC, 1010, 0x7000, 0, 16),
                               EV(TRACE_THREAD_EXIT, 1020, 0, 0, 0),
                               EV(TRACE_FREE, 1030, 0, 0x7000, 0) };
    b_start(&b);
    b_events(&b, 0, a, 3);
    b_end(&b, 0);
    CHECK(b_load(&b, &t, err) == 0);
    CHECK(t.threads[0].op_count == 4);
    CHECK(t.threads[0].ops[2].kind == TRACE_FREE);
    CHECK(t.threads[0].ops[3].kind == TRACE_THREAD_EXIT);
    CHECK(t.threads[0].ops[3].time_ns >= t.threads[0].ops[2].time_ns);
    trace_free(&t);
}

/* A stream without THREAD_START (the recorder loaded after the thread
 * began) gets one in front: every later op shifts by one, in the
 * layout and in the edges other threads hold on them. */
static void test_missing_thread_start_is_supplied(void)
{
    static struct builder b;
    struct trace t;
    char err[ERR_CAP];
    struct trace_event a[] = { EV(TRACE_MALLOC, 1010, 0x1000, 0, 64),
                               EV(TRACE_MALLOC, 1011, 0x2000, 0, 32),
                               EV(TRACE_THREAD_EXIT, 1030, 0, 0, 0) };
    struct trace_event c[] = { EV(TRACE_FREE, 1020, 0, 0x2000, 0) };
    memset(&b, 0, sizeof(b));
    b_start(&b);
    b.no_start[0] = 1;
    b_events(&b, 0, a, 3);
    b_events(&b, 1, c, 1);
    b_end(&b, 0);
    CHECK(b_load(&b, &t, err) == 0);
    CHECK(t.threads[0].op_count == 4);
    CHECK(t.threads[0].ops[0].kind == TRACE_THREAD_START);
    CHECK(t.threads[0].ops[0].time_ns == t.threads[0].ops[1].time_ns);
    CHECK(t.threads[0].ops[1].kind == TRACE_MALLOC &&
           t.threads[0].ops[1].size == 64);
    CHECK(t.threads[0].ops[2].kind == TRACE_MALLOC &&
           t.threads[0].ops[2].size == 32);
    CHECK(t.threads[0].ops[3].kind == TRACE_THREAD_EXIT);
    const struct trace_op *freed = &t.threads[1].ops[1];
    CHECK(freed->kind == TRACE_FREE && freed->dep_thread == 0 &&
           freed->dep_op == 2);
    CHECK(freed->old_slot == t.threads[0].ops[2].slot);
    trace_free(&t);
}

static struct builder *small_trace(void)
{
    static struct builder b;
    struct trace_event a[] = { EV(TRACE_MALLOC, 1010, 0x1000, 0, 64),
                               EV(TRACE_FREE, 1020, 0, 0x1000, 0) };
    b_start(&b);
    b_events(&b, 0, a, 2);
    b_end(&b, 0);
    return &b;
}

/* Header chunk sits at offset 16; the EVENTS chunk follows it. */
static size_t events_offset(const struct builder *b)
{
    size_t header_len = b->buf[TRACE_FILE_HEADER_SIZE + 4];
    return TRACE_FILE_HEADER_SIZE + TRACE_CHUNK_HEADER_SIZE + header_len;
}

static void test_flipped_bit_is_reported_at_its_chunk(void)
{
    struct builder *b = small_trace();
    struct trace t;
    char err[ERR_CAP], want[64];
    size_t at = events_offset(b);
    b->buf[at + TRACE_CHUNK_HEADER_SIZE + 2] ^= 0x10;
    CHECK(b_load(b, &t, err) < 0);
    snprintf(want, sizeof(want), "mem: offset %zu: expected chunk checksum",
             at);
    CHECK(strncmp(err, want, strlen(want)) == 0);
}

static void test_cut_file_is_reported_where_it_ends(void)
{
    struct builder *b = small_trace();
    struct trace t;
    char err[ERR_CAP], want[64];
    size_t at = events_offset(b);
    b->len = at + TRACE_CHUNK_HEADER_SIZE + 1;
    CHECK(b_load(b, &t, err) < 0);
    snprintf(want, sizeof(want), "mem: offset %zu: expected ", at);
    CHECK(strncmp(err, want, strlen(want)) == 0 && strstr(err, "trunc"));
    b->len = 3;
    CHECK(b_load(b, &t, err) < 0 && strstr(err, "offset 0: expected"));
    b->len = 0;
    CHECK(b_load(b, &t, err) < 0 && strstr(err, "offset 0: expected"));
}

static void test_wrong_version_is_refused(void)
{
    struct builder *b = small_trace();
    struct trace t;
    char err[ERR_CAP];
    b->buf[TRACE_MAGIC_SIZE] = TRACE_VERSION + 1;
    CHECK(b_load(b, &t, err) < 0);
    CHECK(strstr(err, "offset 8: expected format version") != NULL);
}

static void test_unknown_chunk_type_is_skipped(void)
{
    struct builder *b = small_trace();
    struct trace t;
    char err[ERR_CAP];
    const uint8_t future[] = { 1, 2, 3, 4, 5 };
    b_chunk(b, 77, future, sizeof(future));
    CHECK(b_load(b, &t, err) == 0);
    CHECK(t.threads[0].op_count == 3);
    trace_free(&t);
}

static void test_bad_event_tag_is_refused_with_offset(void)
{
    struct builder b;
    struct trace t;
    char err[ERR_CAP];
    uint8_t payload[TRACE_EVENTS_PREAMBLE_MAX + 2];
    uint8_t *p = trace_put_events_preamble(payload, 0, 100, 0, 10);
    size_t tag_at = (size_t)(p - payload);
    *p++ = 0x0f;                     /* kind 15 */
    *p++ = 0;                        /* its time delta */
    b_start(&b);
    size_t at = b.len;
    b_chunk(&b, TRACE_CHUNK_EVENTS, payload, (size_t)(p - payload));
    CHECK(b_load(&b, &t, err) < 0);
    char want[64];
    snprintf(want, sizeof(want), "offset %zu: expected an event tag",
             at + TRACE_CHUNK_HEADER_SIZE + tag_at);
    CHECK(strstr(err, want) != NULL);
}

/* Writes b to a temporary file; its path in path (PATH_CAP bytes). */
static void b_to_file(const struct builder *b, char *path)
{
    snprintf(path, PATH_CAP, "/tmp/mallard-test-XXXXXX");
    int fd = mkstemp(path);
    CHECK(fd >= 0 && write(fd, b->buf, b->len) == (ssize_t)b->len);
    close(fd);
}

/* Finalises the file at in to out through the load that leaves the
 * events unchecked (mallard record's) or the one that checks them;
 * 0, or -1 with the message in err. */
static int b_finalize(const char *in, const char *out, int checked,
                      char *err)
{
    struct trace_raw raw;
    struct trace sum;
    struct trace_finalize_report report;
    int rc = checked ? trace_raw_load(in, &raw, err, ERR_CAP)
                     : trace_raw_load_unchecked(in, &raw, err, ERR_CAP);
    if (rc < 0)
        return -1;
    rc = trace_finalize_write(out, &raw, 1, 1, &sum, &report, err,
                              ERR_CAP);
    if (rc == 0)
        trace_free(&sum);
    trace_raw_free(&raw);
    return rc < 0 ? -1 : 0;
}

/* A trace whose second event has kind 15: checksums sound. */
static void bad_tag_trace(struct builder *b)
{
    uint8_t payload[TRACE_EVENTS_PREAMBLE_MAX + 8];
    uint8_t *p = trace_put_events_preamble(payload, 0, 100, 0, 10);
    *p++ = TRACE_THREAD_START;       /* a good event, then a bad one */
    *p++ = 0;
    *p++ = 0x0f;
    *p++ = 0;
    b_start(b);
    b_chunk(b, TRACE_CHUNK_EVENTS, payload, (size_t)(p - payload));
}

/* mallard record's load leaves the events to the finaliser, which
 * decodes them anyway: a damaged event gives the same message as the
 * checking load, and no file; a sound trace a file. */
static void test_unchecked_load_reports_what_the_check_would(void)
{
    struct builder bad;
    char in[PATH_CAP], out[PATH_CAP + 8], err1[ERR_CAP], err2[ERR_CAP];
    b_to_file(small_trace(), in);
    snprintf(out, sizeof(out), "%s.out", in);
    CHECK(b_finalize(in, out, 0, err1) == 0);
    CHECK(access(out, F_OK) == 0);
    unlink(out);
    unlink(in);
    bad_tag_trace(&bad);
    b_to_file(&bad, in);
    snprintf(out, sizeof(out), "%s.out", in);
    CHECK(b_finalize(in, out, 1, err1) < 0);
    CHECK(b_finalize(in, out, 0, err2) < 0);
    CHECK(strstr(err1, "expected an event tag") != NULL);
    CHECK(strcmp(err1, err2) == 0);
    CHECK(access(out, F_OK) != 0);
    unlink(in);
}

static int same_op(const struct trace_op *a, const struct trace_op *b)
{
    return a->time_ns == b->time_ns && a->size == b->size &&
           a->arg == b->arg && a->slot == b->slot &&
           a->old_slot == b->old_slot && a->dep_thread == b->dep_thread &&
           a->dep_op == b->dep_op && a->kind == b->kind;
}

/* Raw -> finalised file -> load gives the very same ops (unit 1 ns). */
static void test_final_form_round_trips_ops(void)
{
    struct builder b;
    struct trace t, back;
    struct trace_raw raw;
    char err[ERR_CAP], path[] = "/tmp/mallard-final-XXXXXX";
    struct trace_event a[] = { EV(TRACE_MALLOC, 1010, 0x1000, 0, 64),
                               EV(TRACE_MALLOC, 1011, 0x2000, 0, 0),
                               EV(TRACE_FREE, 1500, 0, 0x9999, 0),
                               EV(TRACE_THREAD_EXIT, 1600, 0, 0, 0) };
    struct trace_event c[] = { EV(TRACE_FREE, 1020, 0, 0x1000, 0),
                               { .kind = TRACE_REALLOCARRAY, .time = 1030,
                                 .t_after = 1031, .ptr = 0x3000,
                                 .old_ptr = 0x2000, .arg = 3, .size = 7 },
                               EV(TRACE_USABLE_SIZE, 1040, 0, 0x3000, 0) };
    b_start(&b);
    b_events(&b, 0, a, 4);
    b_events(&b, 1, c, 3);
    b_end(&b, 0);
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    CHECK(trace_raw_read("mem", b.buf, b.len, &raw, err, ERR_CAP) == 0);
    CHECK(trace_finalize(&raw, &t, NULL, err, ERR_CAP) == 0);
    CHECK(trace_write_final(path, &raw, &t, 3, 1, err, ERR_CAP) == 0);
    CHECK(trace_load(path, &back, err, ERR_CAP) == 0);
    CHECK(back.thread_count == t.thread_count && back.dropped_frees == 1);
    CHECK(back.slot_count == t.slot_count && !back.truncated);
    CHECK(back.peak_live_bytes == t.peak_live_bytes);
    CHECK(strcmp(back.command_line, "test") == 0 && back.pid == 42);
    for (uint32_t i = 0; i < t.thread_count && i < back.thread_count; i++) {
        CHECK(back.threads[i].op_count == t.threads[i].op_count);
        for (uint64_t j = 0; j < t.threads[i].op_count &&
                             j < back.threads[i].op_count; j++)
            CHECK(same_op(&t.threads[i].ops[j], &back.threads[i].ops[j]));
    }
    CHECK(t.threads[1].ops[2].dep_thread == 0);
    trace_free(&t);
    trace_free(&back);
    trace_raw_free(&raw);
    unlink(path);
}

/* Events whose slots defeat every guess of the ranked coding: more
 * blocks live than it ranks (freed oldest first), more released than it
 * remembers, a realloc in place, a failed realloc, a size query; and
 * times that repeat (runs of equal times) and jump. */
#define RANKED_BLOCKS 100
#define RANKED_TIME_STEP 3   /* events per distinct time, about */

static size_t ranked_events(struct trace_event *ev)
{
    size_t n = 0;
    uint64_t tm = 1010;
    for (int pass = 0; pass < 2; pass++) {
        for (uint64_t i = 0; i < RANKED_BLOCKS; i++)
            ev[n++] = (struct trace_event)EV(TRACE_MALLOC,
                tm + i / RANKED_TIME_STEP + (i >= RANKED_BLOCKS / 2 ? 5000
                                                                  : 0),
                0x10000 + 0x100 * i, 0, 8 + i);
        tm += 6000;
        for (uint64_t i = 0; i < RANKED_BLOCKS; i += 1 + pass)
            ev[n++] = (struct trace_event)EV(TRACE_FREE,
                tm + i / RANKED_TIME_STEP, 0, 0x10000 + 0x100 * i, 0);
        tm += RANKED_BLOCKS;
    }
    ev[n++] = (struct trace_event){ .kind = TRACE_REALLOC, .time = tm,
                                    .t_after = tm, .ptr = 0x10100,
                                    .old_ptr = 0x10100, .size = 99 };
    tm++;
    ev[n++] = (struct trace_event){ .kind = TRACE_REALLOC, .time = tm - 2,
                                    .t_after = tm - 2, .old_ptr = 0x10300,
                                    .size = 1u << 30 };   /* failed */
    tm++;
    ev[n++] = (struct trace_event)EV(TRACE_USABLE_SIZE, tm++, 0, 0x10300, 0);
    ev[n++] = (struct trace_event)EV(TRACE_FREE, tm++, 0, 0x10300, 0);
    return n;
}

static void expect_same_trace(const struct trace *a, const struct trace *b)
{
    CHECK(a->thread_count == b->thread_count);
    CHECK(a->slot_count == b->slot_count);
    for (uint32_t i = 0; i < a->thread_count && i < b->thread_count; i++) {
        CHECK(a->threads[i].op_count == b->threads[i].op_count);
        for (uint64_t j = 0; j < a->threads[i].op_count &&
                             j < b->threads[i].op_count; j++)
            CHECK(same_op(&a->threads[i].ops[j], &b->threads[i].ops[j]));
    }
}

/* Slots coded by recency and times as runs (OPS_RUNS, what mallard
 * writes) come back exactly, escapes and misses included. */
static void test_ranked_slots_round_trip_past_their_limits(void)
{
    static struct trace_event ev[4 * RANKED_BLOCKS];
    struct builder b;
    struct trace t, back;
    struct trace_raw raw;
    char err[ERR_CAP], path[] = "/tmp/mallard-ranked-XXXXXX";
    size_t n = ranked_events(ev);
    b_start(&b);
    for (size_t i = 0; i < n; i += RANKED_BLOCKS)
        b_events(&b, 0, ev + i, n - i < RANKED_BLOCKS ? n - i
                                                      : RANKED_BLOCKS);
    b_end(&b, 0);
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    CHECK(trace_raw_read("mem", b.buf, b.len, &raw, err, ERR_CAP) == 0);
    CHECK(trace_finalize(&raw, &t, NULL, err, ERR_CAP) == 0);
    CHECK(t.slot_count >= RANKED_BLOCKS);
    CHECK(trace_write_final(path, &raw, &t, 3, 1, err, ERR_CAP) == 0);
    CHECK(trace_load(path, &back, err, ERR_CAP) == 0);
    expect_same_trace(&t, &back);
    trace_free(&t);
    trace_free(&back);
    trace_raw_free(&raw);
    unlink(path);
}

/* Finalised files as older mallards wrote them, kept in the fuzzer's
 * corpus (CORPUS): OPS chunks (slot hints, a time delta per op), then
 * OPS_RANKED ones (ranked slots); each loads to the very ops of the
 * same recording written as OPS_RUNS, the coding mallard writes now. */
static void test_older_ops_chunks_still_load(const char *corpus)
{
    static const char *const older[] = { "final-two-threads",
                                         "final-ranked-two-threads" };
    struct trace now, back;
    char err[ERR_CAP], path[PATH_CAP];
    snprintf(path, sizeof(path), "%s/final-runs-two-threads", corpus);
    CHECK(trace_load(path, &now, err, ERR_CAP) == 0);
    CHECK(now.thread_count == 3 && now.slot_count > 0);  /* main + 2 */
    for (size_t i = 0; i < sizeof(older) / sizeof(older[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", corpus, older[i]);
        CHECK(trace_load(path, &back, err, ERR_CAP) == 0);
        expect_same_trace(&now, &back);
        trace_free(&back);
    }
    trace_free(&now);
}

/* Published check values of CRC-32C (RFC 3720, B.4, and the usual
 * "123456789"): whichever implementation runs, files stay the same. */
static void test_crc32c_matches_published_values(void)
{
    uint8_t zeros[32] = { 0 }, ones[32], up[32];
    memset(ones, 0xff, sizeof(ones));
    for (int i = 0; i < 32; i++)
        up[i] = (uint8_t)i;
    CHECK(trace_crc32c(0, "123456789", 9) == 0xe3069283u);
    CHECK(trace_crc32c(0, zeros, sizeof(zeros)) == 0x8a9136aau);
    CHECK(trace_crc32c(0, ones, sizeof(ones)) == 0x62a8ab43u);
    CHECK(trace_crc32c(0, up, sizeof(up)) == 0x46dd794eu);
    /* Chained over an odd split: the same as in one call. */
    CHECK(trace_crc32c(trace_crc32c(0, up, 13), up + 13, 19) ==
           0x46dd794eu);
}

/* A TSC-stamped recording (clock 2): stamps are ticks, and times and
 * the duration come out in nanoseconds at the header's frequency. */
static void test_tsc_stamps_become_nanoseconds(void)
{
    struct builder b;
    struct trace t;
    char err[ERR_CAP];
    /* 2.5 GHz: 2,500 ticks after the start stamp (1000) are 1 us. */
    struct trace_event a[] = { EV(TRACE_MALLOC, 3500, 0x1000, 0, 64),
                               EV(TRACE_FREE, 6000, 0, 0x1000, 0) };
    b_start_clock(&b, TRACE_CLOCK_TSC, 2500000000u);
    b_events(&b, 0, a, 2);
    b_end(&b, 0);
    CHECK(b_load(&b, &t, err) == 0);
    CHECK(t.threads[0].op_count == 3);
    CHECK(t.threads[0].ops[1].time_ns == 1000);
    CHECK(t.threads[0].ops[2].time_ns == 2000);
    CHECK(t.duration_ns == 1600);    /* END stamp 5000: 4000 ticks */
    trace_free(&t);
}

/* The recorder's end-of-run measure of the TSC (a CLOCK chunk)
 * replaces the header's quick one. */
static void test_clock_chunk_refines_the_frequency(void)
{
    struct builder b;
    struct trace t;
    char err[ERR_CAP];
    uint8_t payload[TRACE_VARINT_MAX];
    struct trace_event a[] = { EV(TRACE_MALLOC, 3000, 0x1000, 0, 64) };
    b_start_clock(&b, TRACE_CLOCK_TSC, 1000000000u);
    b_events(&b, 0, a, 1);
    b_chunk(&b, TRACE_CHUNK_CLOCK, payload,
            trace_encode_clock(payload, sizeof(payload), 2000000000u));
    b_end(&b, 0);
    CHECK(b_load(&b, &t, err) == 0);
    CHECK(t.threads[0].ops[1].time_ns == 1000);   /* 2000 ticks */
    CHECK(t.duration_ns == 2000);                  /* END at 5000 */
    trace_free(&t);
    b_start_clock(&b, TRACE_CLOCK_TSC, 1000000000u);
    b_chunk(&b, TRACE_CHUNK_CLOCK, payload,
            trace_encode_clock(payload, sizeof(payload), 0));
    CHECK(b_load(&b, &t, err) < 0 && strstr(err, "frequency"));
}

static void test_unknown_clock_is_refused(void)
{
    struct builder b;
    struct trace t;
    char err[ERR_CAP];
    struct trace_event a[] = { EV(TRACE_MALLOC, 1010, 0x1000, 0, 64) };
    b_start_clock(&b, 3, TRACE_NS_PER_SEC);
    b_events(&b, 0, a, 1);
    CHECK(b_load(&b, &t, err) < 0 && strstr(err, "clock"));
    b_start_clock(&b, TRACE_CLOCK_TSC, 0);
    b_events(&b, 0, a, 1);
    CHECK(b_load(&b, &t, err) < 0 && strstr(err, "clock"));
}

/* argv[1]: the folder of the fuzzer's corpus (tests/format/corpus). */
int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    test_crc32c_matches_published_values();
    test_ranked_slots_round_trip_past_their_limits();
    test_older_ops_chunks_still_load(argv[1]);
    test_tsc_stamps_become_nanoseconds();
    test_unknown_clock_is_refused();
    test_clock_chunk_refines_the_frequency();
    test_varint_round_trip_at_limits();
    test_free_on_other_thread_waits_for_allocation();
    test_reused_address_on_equal_stamp_is_not_a_lost_free();
    test_realloc_elsewhere_chains_edges();
    test_free_of_unrecorded_block_is_dropped_and_counted();
    test_failed_realloc_keeps_the_old_block();
    test_thread_exit_stays_last();
    test_missing_thread_start_is_supplied();
    test_flipped_bit_is_reported_at_its_chunk();
    test_cut_file_is_reported_where_it_ends();
    test_wrong_version_is_refused();
    test_unknown_chunk_type_is_skipped();
    test_bad_event_tag_is_refused_with_offset();
    test_unchecked_load_reports_what_the_check_would();
    test_final_form_round_trips_ops();
    CHECK_DONE();
}
