/*
 * test_trace_slice.c - `mallard trace slice`'s core (trace_slice() in
 * replay/format/trace_slice.c) on traces built in memory: blocks live
 * at the cut are re-created by the thread that allocated them (or, if
 * it is gone, their first toucher), edges into the past are dropped or
 * point at the re-creation, the rest are renumbered, a cut moves past
 * an edge that crosses it backwards, and the whole window is the whole
 * trace.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "trace_format.h"

#define ERR_CAP 256
#define MAX_OPS 8

#define NO TRACE_NO_SLOT

struct mem_trace {
    struct trace t;
    struct trace_thread threads[2];
    struct trace_op ops[2][MAX_OPS];
};

/* Appends an op to thread th; dep_thread NO for none. */
static void add(struct mem_trace *m, uint32_t th, uint8_t kind,
                uint64_t time, uint64_t size, uint32_t slot,
                uint32_t old_slot, uint32_t dep_thread, uint32_t dep_op)
{
    struct trace_thread *t = &m->threads[th];
    struct trace_op op = { .time_ns = time, .size = size, .slot = slot,
                           .old_slot = old_slot, .dep_thread = dep_thread,
                           .dep_op = dep_op, .kind = kind };
    t->ops[t->op_count++] = op;
}

static void mem_init(struct mem_trace *m, uint32_t threads, uint32_t slots)
{
    memset(m, 0, sizeof(*m));
    m->t.command_line = "test";
    m->t.thread_count = threads;
    m->t.slot_count = slots;
    m->t.threads = m->threads;
    for (uint32_t i = 0; i < threads; i++)
        m->threads[i].ops = m->ops[i];
}

/* T0 allocates s0, s1, s2; T1 queries and frees s0 (the query carries
 * the edge), then frees s2 with an edge to its allocation. */
static void two_threads(struct mem_trace *m)
{
    mem_init(m, 2, 3);
    add(m, 0, TRACE_THREAD_START, 0, 0, NO, NO, TRACE_NO_DEP, 0);
    add(m, 0, TRACE_MALLOC, 10, 100, 0, NO, TRACE_NO_DEP, 0);
    add(m, 0, TRACE_MALLOC, 20, 200, 1, NO, TRACE_NO_DEP, 0);
    add(m, 0, TRACE_MALLOC, 40, 50, 2, NO, TRACE_NO_DEP, 0);
    add(m, 0, TRACE_THREAD_EXIT, 60, 0, NO, NO, TRACE_NO_DEP, 0);
    add(m, 1, TRACE_THREAD_START, 5, 0, NO, NO, 0, 0);
    add(m, 1, TRACE_USABLE_SIZE, 30, 0, NO, 0, 0, 1);
    add(m, 1, TRACE_FREE, 35, 0, NO, 0, TRACE_NO_DEP, 0);
    add(m, 1, TRACE_FREE, 45, 0, NO, 2, 0, 3);
    add(m, 1, TRACE_THREAD_EXIT, 70, 0, NO, NO, TRACE_NO_DEP, 0);
}

static void test_live_blocks_are_remade_by_their_allocator(void)
{
    struct mem_trace m;
    struct trace out;
    struct trace_slice_report r;
    char err[ERR_CAP];
    two_threads(&m);
    CHECK(trace_slice(&m.t, 25, TRACE_SLICE_TO_END, &out, &r, err,
                       sizeof(err)) == 0);
    CHECK(r.carried_blocks == 2 && r.carried_bytes == 300);
    CHECK(r.window_ops == 6);
    CHECK(out.thread_count == 2 && out.slot_count == 3);
    CHECK(out.peak_live_bytes == 300);
    const struct trace_thread *t0 = &out.threads[0], *t1 = &out.threads[1];
    CHECK(t0->op_count == 5 && t1->op_count == 5);
    if (t0->op_count != 5 || t1->op_count != 5)
        return;
    /* T0 made s0 and s1 before the cut: it makes them again first */
    CHECK(t0->ops[0].kind == TRACE_THREAD_START);
    CHECK(t0->ops[1].kind == TRACE_MALLOC && t0->ops[1].size == 100);
    CHECK(t0->ops[2].kind == TRACE_MALLOC && t0->ops[2].size == 200);
    CHECK(t0->ops[3].kind == TRACE_MALLOC && t0->ops[3].time_ns == 15);
    /* T1's first touch of s0 waits for that, so s0 still crosses */
    CHECK(t1->ops[0].kind == TRACE_THREAD_START &&
           t1->ops[0].dep_thread == TRACE_NO_DEP);
    CHECK(t1->ops[1].kind == TRACE_USABLE_SIZE &&
           t1->ops[1].old_slot == t0->ops[1].slot &&
           t1->ops[1].dep_thread == 0 && t1->ops[1].dep_op == 1);
    CHECK(t1->ops[2].kind == TRACE_FREE &&
           t1->ops[2].old_slot == t0->ops[1].slot &&
           t1->ops[2].dep_thread == TRACE_NO_DEP);
    /* the free of s2 still waits for its allocation, renumbered */
    CHECK(t1->ops[3].old_slot == t0->ops[3].slot &&
           t1->ops[3].dep_thread == 0 && t1->ops[3].dep_op == 3);
    trace_free(&out);
}

/* T0 allocated s0 and ended before the cut: T1, which frees it, has
 * to make it itself. */
static void test_block_of_a_gone_thread_is_made_by_its_toucher(void)
{
    struct mem_trace m;
    struct trace out;
    char err[ERR_CAP];
    mem_init(&m, 2, 1);
    add(&m, 0, TRACE_THREAD_START, 0, 0, NO, NO, TRACE_NO_DEP, 0);
    add(&m, 0, TRACE_MALLOC, 10, 64, 0, NO, TRACE_NO_DEP, 0);
    add(&m, 0, TRACE_THREAD_EXIT, 20, 0, NO, NO, TRACE_NO_DEP, 0);
    add(&m, 1, TRACE_THREAD_START, 0, 0, NO, NO, TRACE_NO_DEP, 0);
    add(&m, 1, TRACE_FREE, 40, 0, NO, 0, 0, 1);
    CHECK(trace_slice(&m.t, 30, TRACE_SLICE_TO_END, &out, NULL, err,
                       sizeof(err)) == 0);
    CHECK(out.thread_count == 1 && out.threads[0].op_count == 3);
    if (out.thread_count != 1 || out.threads[0].op_count != 3)
        return;
    CHECK(out.threads[0].ops[1].kind == TRACE_MALLOC &&
           out.threads[0].ops[1].size == 64);
    CHECK(out.threads[0].ops[2].kind == TRACE_FREE &&
           out.threads[0].ops[2].dep_thread == TRACE_NO_DEP);
    trace_free(&out);
}

static void test_whole_window_is_the_whole_trace(void)
{
    struct mem_trace m;
    struct trace out;
    char err[ERR_CAP];
    two_threads(&m);
    CHECK(trace_slice(&m.t, 0, TRACE_SLICE_TO_END, &out, NULL, err,
                       sizeof(err)) == 0);
    CHECK(out.thread_count == 2);
    for (uint32_t th = 0; th < 2 && th < out.thread_count; th++) {
        CHECK(out.threads[th].op_count == m.threads[th].op_count);
        for (uint64_t i = 0; i < out.threads[th].op_count; i++) {
            const struct trace_op *a = &out.threads[th].ops[i];
            const struct trace_op *b = &m.threads[th].ops[i];
            CHECK(a->kind == b->kind && a->time_ns == b->time_ns &&
                   a->dep_thread == b->dep_thread &&
                   a->dep_op == b->dep_op);
        }
    }
    trace_free(&out);
}

/* T1's free is stamped before T0's allocation it waits for (times are
 * rounded); a cut between them must take the allocation out too. */
static void test_cut_moves_past_an_edge_that_crosses_it(void)
{
    struct mem_trace m;
    struct trace out;
    struct trace_slice_report r;
    char err[ERR_CAP];
    mem_init(&m, 2, 2);
    add(&m, 0, TRACE_THREAD_START, 0, 0, NO, NO, TRACE_NO_DEP, 0);
    add(&m, 0, TRACE_MALLOC, 50, 10, 0, NO, TRACE_NO_DEP, 0);
    add(&m, 0, TRACE_MALLOC, 60, 20, 1, NO, TRACE_NO_DEP, 0);
    add(&m, 1, TRACE_THREAD_START, 0, 0, NO, NO, TRACE_NO_DEP, 0);
    add(&m, 1, TRACE_FREE, 40, 0, NO, 0, 0, 1);
    int rc = trace_slice(&m.t, 45, TRACE_SLICE_TO_END, &out, &r, err,
                         sizeof(err));
    CHECK(rc == 0);
    if (rc < 0)
        return;
    CHECK(r.carried_blocks == 0 && r.window_ops == 1);
    CHECK(out.thread_count == 1 && out.threads[0].op_count == 2);
    CHECK(out.threads[0].ops[1].size == 20);
    trace_free(&out);
}

static void test_realloced_block_is_remade_at_its_present_size(void)
{
    struct mem_trace m;
    struct trace out;
    char err[ERR_CAP];
    mem_init(&m, 1, 2);
    add(&m, 0, TRACE_THREAD_START, 0, 0, NO, NO, TRACE_NO_DEP, 0);
    add(&m, 0, TRACE_MALLOC, 1, 10, 0, NO, TRACE_NO_DEP, 0);
    add(&m, 0, TRACE_REALLOC, 2, 500, 1, 0, TRACE_NO_DEP, 0);
    add(&m, 0, TRACE_FREE, 30, 0, NO, 1, TRACE_NO_DEP, 0);
    CHECK(trace_slice(&m.t, 20, TRACE_SLICE_TO_END, &out, NULL, err,
                       sizeof(err)) == 0);
    CHECK(out.threads[0].op_count == 3);
    CHECK(out.threads[0].ops[1].kind == TRACE_MALLOC &&
           out.threads[0].ops[1].size == 500 &&
           out.threads[0].ops[1].old_slot == TRACE_NO_SLOT);
    CHECK(out.threads[0].ops[2].old_slot == out.threads[0].ops[1].slot);
    trace_free(&out);
}

static void test_empty_window_is_refused(void)
{
    struct mem_trace m;
    struct trace out;
    char err[ERR_CAP] = "";
    two_threads(&m);
    CHECK(trace_slice(&m.t, 1000, TRACE_SLICE_TO_END, &out, NULL, err,
                       sizeof(err)) < 0);
    CHECK(strstr(err, "no ops") != NULL);
}

static void test_op_budget_sets_the_end(void)
{
    struct mem_trace m;
    two_threads(&m);
    /* window times from 25: 30 35 40 45 60 70; two ops end before 40 */
    CHECK(trace_slice_end_for_ops(&m.t, 25, 2) == 40);
    CHECK(trace_slice_end_for_ops(&m.t, 25, 6) == TRACE_SLICE_TO_END);
}

int main(void)
{
    test_live_blocks_are_remade_by_their_allocator();
    test_block_of_a_gone_thread_is_made_by_its_toucher();
    test_whole_window_is_the_whole_trace();
    test_cut_moves_past_an_edge_that_crosses_it();
    test_realloced_block_is_remade_at_its_present_size();
    test_empty_window_is_refused();
    test_op_budget_sets_the_end();
    CHECK_DONE();
}
