/*
 * test_gather.c - when no free span is big enough but mapped free spans
 * hold the memory, the span layer moves their pages into one new span
 * (chunk.c, gather_mapped): the data moves with them (nothing faulted
 * in afresh), the old ranges are gone, and the retained bytes fall.
 * The same for a big block mapped on its own, which realloc can still
 * grow when mremap will not move the pieced mapping as one.
 *
 * mremap is wrapped here: with refuse_big_moves set it refuses to move
 * or grow more than one chunk at a time, as a kernel before 6.17 does
 * for a range that covers several of its mappings (and any kernel, for
 * a resize), so the chunk-by-chunk path and realloc's copy are tested
 * on any kernel.
 * Run with MALLARD_SBRK=0: no break top for chunk_alloc to extend.
 */
#include "check.h"
#include "chunk.h"
#include "mallard.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#define MIB ((size_t)1 << 20)
#define PIECE (3 * MIB)
#define NODE_ROOM 64 /* chunk.c's struct free_span, and more */

static bool refuse_big_moves;
static int mremap_calls;

void *mremap(void *old, size_t old_size, size_t new_size, int flags, ...)
{
    void *new_address = NULL;
    if (flags & MREMAP_FIXED) {
        va_list args;
        va_start(args, flags);
        new_address = va_arg(args, void *);
        va_end(args);
    }
    mremap_calls++;
    if (refuse_big_moves && (old_size > CHUNK_SIZE || new_size > CHUNK_SIZE)) {
        errno = EFAULT;
        return MAP_FAILED;
    }
    return (void *)syscall(SYS_mremap, old, old_size, new_size, flags,
                           new_address);
}

static bool is_mapped(const char *page)
{
    unsigned char vec;
    return mincore((void *)page, 4096, &vec) == 0;
}

/*
 * Two mappings of PIECE bytes, a chunk apart (so they cannot merge into
 * one free span), filled with 0x11 and 0x22 and handed to the span
 * layer as big blocks' freed mappings are.
 */
static void adopt_two_pieces(char **first, char **second)
{
    size_t room = 2 * PIECE + 2 * CHUNK_SIZE;
    char *raw = mmap(NULL, room, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(raw != MAP_FAILED);
    uintptr_t start = ((uintptr_t)raw + CHUNK_SIZE - 1) &
                      ~(uintptr_t)(CHUNK_SIZE - 1);
    *first = (char *)start;
    *second = *first + PIECE + CHUNK_SIZE;
    munmap(raw, (size_t)(*first - raw));
    munmap(*first + PIECE, CHUNK_SIZE);
    munmap(*second + PIECE, (size_t)(raw + room - (*second + PIECE)));
    memset(*first, 0x11, PIECE);
    memset(*second, 0x22, PIECE);
    chunk_adopt_mapping(*first, PIECE);
    chunk_adopt_mapping(*second, PIECE);
}

static size_t count_bytes(const unsigned char *at, size_t size, int value)
{
    size_t count = 0;
    for (size_t i = 0; i < size; i++)
        count += at[i] == value;
    return count;
}

/* Adopted spans go back once idle a tenth of a second: an attempt that
 * a loaded machine stretched past 50 ms proves nothing (false). */
static bool gather_span_once(void)
{
    char *first, *second;
    uint64_t start = check_now_ns();
    size_t retained_before = chunk_retained_bytes();
    adopt_two_pieces(&first, &second);
    enum chunk_source source;
    unsigned char *span = chunk_alloc(2 * PIECE, &source);
    size_t retained_after = chunk_retained_bytes();
    if (check_now_ns() - start > 50000000u) {
        if (span != NULL)
            chunk_free(span, 2 * PIECE, source);
        chunk_release_retained();
        return false;
    }
    CHECK(span != NULL);
    CHECK(source == CHUNK_FROM_MMAP);
    /* All but the free span's node, written at each piece's front. */
    size_t ones = count_bytes(span, 2 * PIECE, 0x11);
    size_t twos = count_bytes(span, 2 * PIECE, 0x22);
    CHECK_MSG(ones >= PIECE - NODE_ROOM && ones <= PIECE &&
              twos >= PIECE - NODE_ROOM && twos <= PIECE,
              "%zu bytes of the first piece, %zu of the second", ones, twos);
    CHECK(!is_mapped(first) && !is_mapped(second));
    CHECK_MSG(retained_after <= retained_before, "retained %zu -> %zu",
              retained_before, retained_after);
    chunk_free(span, 2 * PIECE, source);
    chunk_release_retained();
    return true;
}

static void test_span_gathered_from_mapped_pieces(bool refuse)
{
    refuse_big_moves = refuse;
    CHECK_IN_TIME(gather_span_once());
    refuse_big_moves = false;
}

/* A big block gathered from two pieces, grown by realloc when mremap
 * refuses to move it as one: copied, contents and errno intact. */
static bool grow_gathered_block_once(void)
{
    char *first, *second;
    uint64_t start = check_now_ns();
    adopt_two_pieces(&first, &second);
    unsigned char *block = mallard_malloc(2 * PIECE - CHUNK_SIZE);
    bool gathered = block != NULL && !is_mapped(first);
    if (check_now_ns() - start > 50000000u || !gathered) {
        mallard_free(block);
        chunk_release_retained();
        return false;
    }
    memset(block, 0x5a, 2 * PIECE - CHUNK_SIZE);
    refuse_big_moves = true;
    errno = 1234;
    unsigned char *grown = mallard_realloc(block, 4 * PIECE);
    refuse_big_moves = false;
    CHECK(grown != NULL);
    CHECK(errno == 1234);
    if (grown != NULL) {
        CHECK(count_bytes(grown, 2 * PIECE - CHUNK_SIZE, 0x5a) ==
              2 * PIECE - CHUNK_SIZE);
        memset(grown, 0, 4 * PIECE);
    }
    mallard_free(grown);
    chunk_release_retained();
    return true;
}

static void test_gathered_block_grows(void)
{
    CHECK_IN_TIME(grow_gathered_block_once());
}

int main(void)
{
    mallard_free(mallard_malloc(1));  /* settings read, MALLARD_SBRK=0 */
    /* Keep whatever is adopted: the limit is not what is tested. */
    chunk_set_retain_limit(256 * MIB);
    test_span_gathered_from_mapped_pieces(false);
    int calls_before = mremap_calls;
    test_span_gathered_from_mapped_pieces(true);
    CHECK_MSG(mremap_calls - calls_before > 2 * (int)(PIECE / CHUNK_SIZE),
              "%d mremap calls: not chunk by chunk",
              mremap_calls - calls_before);
    test_gathered_block_grows();
    CHECK_DONE();
}
