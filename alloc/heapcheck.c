/*
 * heapcheck.c - the heap-checking mode (MALLARD_CHECK=1; heapcheck.h
 * says what it catches and what it costs).
 *
 * A checked block inside the raw block the allocator gave:
 *
 *   raw                                        user          user + size
 *   | canary (>= 16) | header (24) | canary (8) | the program's bytes |
 *                                                      | canary (32) | ...
 *
 * The canary word next to the block tells a write just before it (an
 * off-by-one backwards) from a pointer that was never a block.
 *
 * Invariants, all kept under check_lock except the raw allocation:
 *   - a live block's seal is seal_of(user, size, offset, LIVE), a
 *     quarantined one's the same with FREED; anything else was never a
 *     checked block or was overwritten;
 *   - a quarantined block's bytes are all zero;
 *   - recent[] holds live blocks only (free removes its entry first).
 */
#include "heapcheck.h"

#include "chunkmap.h"
#include "heap.h"
#include "lock.h"
#include "os.h"
#include "tcache.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#define CHECK_HEADER 24u
#define CHECK_NEAR_CANARY 8u
#define CHECK_FRONT 48u             /* canary, header, canary */
#define CHECK_TAIL 32u              /* canary after it */
#define CHECK_CANARY 0xcbu
/* A freed block waits for this many later frees, or until the bytes
 * waiting pass the bound, before its memory can be reused. */
#define CHECK_QUARANTINE_BLOCKS 1024u
#define CHECK_QUARANTINE_BYTES ((size_t)64 << 20)
/* Every call checks the canaries of the newest live blocks and the
 * first bytes of the newest freed ones. */
#define CHECK_RECENT 8u
#define CHECK_RECENT_FREED 4u
#define CHECK_FREED_PROBE 1024u

enum check_state { CHECK_LIVE = 1, CHECK_FREED = 2 };

struct check_header {
    uint64_t size;      /* bytes the program asked for */
    uint64_t offset;    /* user - raw */
    uint64_t seal;
};

static struct lock check_lock = LOCK_INIT;
static char *quarantine[CHECK_QUARANTINE_BLOCKS];  /* a ring, oldest */
static unsigned quarantine_oldest, quarantine_count; /* first */
static size_t quarantine_bytes;
static char *recent[CHECK_RECENT];
static unsigned recent_next;

/* A keyed mix of the header's fields: a stray write or a pointer into
 * the middle of some block does not make a valid seal by chance. */
static uint64_t seal_of(const char *user, uint64_t size, uint64_t offset,
                        enum check_state state)
{
    uint64_t x = tcache_key ^ (uint64_t)(uintptr_t)user ^
                 (size * 0x9e3779b97f4a7c15ull) ^ (offset << 32) ^ state;
    x ^= x >> 31;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 29;
    x *= 0x94d049bb133111ebull;
    return x ^ (x >> 32);
}

static struct check_header *header_of(const char *user)
{
    return (struct check_header *)(uintptr_t)(user - CHECK_NEAR_CANARY -
                                              CHECK_HEADER);
}

/* "op: what" into a static buffer: the process is about to abort. */
_Noreturn static void fail(const char *op, const char *what,
                           const void *ptr)
{
    static char message[128];
    size_t op_length = strlen(op);
    size_t what_length = strlen(what);
    if (op_length + what_length + 3 > sizeof(message))
        os_fatal_pointer(what, ptr);
    memcpy(message, op, op_length);
    memcpy(message + op_length, ": ", 2);
    memcpy(message + op_length + 2, what, what_length + 1);
    os_fatal_pointer(message, ptr);
}

/* Every byte equals the first (the C library's memcmp is vectorised),
 * and the first is value. */
static bool all_bytes(const unsigned char *bytes, size_t length,
                      unsigned char value)
{
    return length == 0 ||
           (bytes[0] == value && memcmp(bytes, bytes + 1, length - 1) == 0);
}

/* Aborts unless both canaries of user's block are whole. */
static void check_canaries(const char *op, const char *user,
                           const struct check_header *header)
{
    const unsigned char *front = (const unsigned char *)user -
                                 header->offset;
    size_t front_canary = header->offset - CHECK_HEADER -
                          CHECK_NEAR_CANARY;
    if (!all_bytes(front, front_canary, CHECK_CANARY) ||
        !all_bytes((const unsigned char *)user - CHECK_NEAR_CANARY,
                   CHECK_NEAR_CANARY, CHECK_CANARY))
        fail(op, "write before the start of block", user);
    const unsigned char *tail = (const unsigned char *)user + header->size;
    if (!all_bytes(tail, CHECK_TAIL, CHECK_CANARY))
        fail(op, "write past the end of block", user);
}

/*
 * The header of the block at user, or abort: a pointer the heap does
 * not hold, one freed already, or one whose header was overwritten.
 * Reads before user only where the chunk map says memory is ours.
 */
static struct check_header *find_live(const char *op, const char *user)
{
    if (((uintptr_t)user & 15) != 0 || chunkmap_lookup(user) == NULL ||
        chunkmap_lookup(user - CHECK_FRONT) == NULL)
        fail(op, "invalid pointer", user);
    struct check_header *header = header_of(user);
    uint64_t size = header->size, offset = header->offset;
    if (header->seal == seal_of(user, size, offset, CHECK_FREED))
        fail(op, "double free or use of a freed block", user);
    if (header->seal != seal_of(user, size, offset, CHECK_LIVE))
        fail(op, "invalid pointer, or a write before the block", user);
    check_canaries(op, user, header);
    return header;
}

/* Aborts unless a quarantined block is as it was left, its first
 * probe bytes zero. */
static void check_freed(const char *op, const char *user, size_t probe)
{
    const struct check_header *header = header_of(user);
    if (header->seal != seal_of(user, header->size, header->offset,
                                CHECK_FREED))
        fail(op, "write before the start of freed block", user);
    check_canaries(op, user, header);
    size_t length = header->size < probe ? header->size : probe;
    if (!all_bytes((const unsigned char *)user, length, 0))
        fail(op, "write after free to block", user);
}

/* The newest live and freed blocks: an overflow or a write after free
 * is caught at the next call, even if the block is never freed.  Lock
 * held. */
static void check_recent(const char *op)
{
    for (unsigned i = 0; i < CHECK_RECENT; i++)
        if (recent[i] != NULL)
            find_live(op, recent[i]);
    unsigned newest = quarantine_count < CHECK_RECENT_FREED ?
                      quarantine_count : CHECK_RECENT_FREED;
    for (unsigned i = 1; i <= newest; i++) {
        unsigned at = (quarantine_oldest + quarantine_count - i) %
                      CHECK_QUARANTINE_BLOCKS;
        check_freed(op, quarantine[at], CHECK_FREED_PROBE);
    }
}

static void forget_recent(const char *user)
{
    for (unsigned i = 0; i < CHECK_RECENT; i++)
        if (recent[i] == user)
            recent[i] = NULL;
}

/* A live checked block of size bytes in a raw block with room for
 * room bytes (room >= size), or NULL with errno ENOMEM. */
static void *checked_block(size_t align, size_t size, size_t room)
{
    if (align < 16)
        align = 16;
    size_t raw_size;
    if (room > PTRDIFF_MAX || __builtin_add_overflow(
            room, CHECK_FRONT + CHECK_TAIL + (align - 16), &raw_size)) {
        errno = ENOMEM;
        return NULL;
    }
    char *raw = heap_alloc_block(raw_size);
    if (raw == NULL) {
        errno = ENOMEM;
        return NULL;
    }
    char *user = (char *)(((uintptr_t)raw + CHECK_FRONT + align - 1) &
                          ~(uintptr_t)(align - 1));
    struct check_header *header = header_of(user);
    header->size = size;
    header->offset = (uint64_t)(user - raw);
    header->seal = seal_of(user, size, header->offset, CHECK_LIVE);
    memset(raw, CHECK_CANARY,
           header->offset - CHECK_HEADER - CHECK_NEAR_CANARY);
    memset(user - CHECK_NEAR_CANARY, CHECK_CANARY, CHECK_NEAR_CANARY);
    memset(user, 0, size);
    memset(user + size, CHECK_CANARY, CHECK_TAIL);
    lock_acquire(&check_lock);
    check_recent("malloc()");
    recent[recent_next] = user;
    recent_next = (recent_next + 1) % CHECK_RECENT;
    lock_release(&check_lock);
    return user;
}

void *heapcheck_aligned(size_t align, size_t size)
{
    return checked_block(align, size, size);
}

void *heapcheck_malloc(size_t size)
{
    return checked_block(16, size, size);
}

/* The oldest quarantined block, checked whole, back to the heap. */
static void evict_oldest(void)
{
    char *user = quarantine[quarantine_oldest];
    check_freed("free()", user, SIZE_MAX);
    const struct check_header *header = header_of(user);
    quarantine_bytes -= header->size;
    quarantine_oldest = (quarantine_oldest + 1) % CHECK_QUARANTINE_BLOCKS;
    quarantine_count--;
    heap_free_block(user - header->offset);
}

void heapcheck_free(void *ptr)
{
    if (ptr == NULL)
        return;
    char *user = ptr;
    lock_acquire(&check_lock);
    struct check_header *header = find_live("free()", user);
    check_recent("free()");
    forget_recent(user);
    header->seal = seal_of(user, header->size, header->offset, CHECK_FREED);
    memset(user, 0, header->size);
    while (quarantine_count == CHECK_QUARANTINE_BLOCKS ||
           (quarantine_count > 0 &&
            quarantine_bytes + header->size > CHECK_QUARANTINE_BYTES))
        evict_oldest();
    quarantine[(quarantine_oldest + quarantine_count) %
               CHECK_QUARANTINE_BLOCKS] = user;
    quarantine_count++;
    quarantine_bytes += header->size;
    lock_release(&check_lock);
}

/* Resizes user's block in place when its raw block has room for the
 * new size and the tail canary; lock held. */
static bool resize_in_place(char *user, struct check_header *header,
                            size_t size)
{
    size_t room = heap_block_usable(user - header->offset) -
                  header->offset - CHECK_TAIL;
    if (size > room)
        return false;
    if (size > header->size)    /* new bytes read as zero, as a fresh */
        memset(user + header->size, 0, size - header->size);
    header->size = size;        /* block's would */
    header->seal = seal_of(user, size, header->offset, CHECK_LIVE);
    memset(user + size, CHECK_CANARY, CHECK_TAIL);
    return true;
}

/* In place where the raw block has room, else moved to a new block
 * with half as much again for growth: a buffer grown a little at a
 * time is copied a logarithmic number of times, not at every step. */
void *heapcheck_realloc(void *ptr, size_t size)
{
    if (ptr == NULL)
        return heapcheck_malloc(size);
    lock_acquire(&check_lock);
    struct check_header *header = find_live("realloc()", ptr);
    size_t old_size = header->size;
    bool resized = resize_in_place(ptr, header, size);
    lock_release(&check_lock);
    if (resized)
        return ptr;
    size_t room = size;
    if (size > old_size && size <= PTRDIFF_MAX / 2)
        room = size + size / 2;
    void *moved = checked_block(16, size, room);
    if (moved == NULL)
        return NULL;
    memcpy(moved, ptr, old_size < size ? old_size : size);
    heapcheck_free(ptr);
    return moved;
}

size_t heapcheck_usable_size(const void *ptr)
{
    if (ptr == NULL)
        return 0;
    lock_acquire(&check_lock);
    size_t size = find_live("malloc_usable_size()", ptr)->size;
    lock_release(&check_lock);
    return size;
}

void heapcheck_drain(void)
{
    lock_acquire(&check_lock);
    while (quarantine_count > 0)
        evict_oldest();
    lock_release(&check_lock);
}

void heapcheck_fork_prepare(void)
{
    lock_acquire(&check_lock);
}

void heapcheck_fork_parent(void)
{
    lock_release(&check_lock);
}

void heapcheck_fork_child(void)
{
    lock_reset(&check_lock);
}
