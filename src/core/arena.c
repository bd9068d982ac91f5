/* chunks come straight from mmap: malloc would serve the smaller ones from its heap after
 * a large free raised its mmap threshold, and memory freed there stays resident */
#define _DEFAULT_SOURCE 1 /* MAP_ANONYMOUS */
#include "core/arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#define ARENA_ALIGN 64
#define ARENA_MIN_CHUNK ((size_t)1 << 20)

struct mtl_arena_chunk {
    mtl_arena_chunk *prev;
    size_t size, used;
    unsigned char *base; /* aligned start of the usable bytes */
};

static mtl_arena_chunk *chunk_new(size_t size, mtl_arena_chunk *prev) {
    mtl_arena_chunk *c = malloc(sizeof *c);
    if (!c) return NULL;
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0); /* page aligned */
    if (p == MAP_FAILED) {
        free(c);
        return NULL;
    }
#ifdef MADV_HUGEPAGE
    /* a step's tensors span far more memory than the TLB covers in 4 KB pages: ask for 2 MB
     * pages where the kernel leaves the choice to the program (a hint; failure changes nothing) */
    if (size >= ((size_t)4 << 20)) (void)madvise(p, size, MADV_HUGEPAGE);
#endif
    c->base = p;
    c->prev = prev;
    c->size = size;
    c->used = 0;
    return c;
}

void mtl_arena_init(mtl_arena *a) {
    a->head = NULL;
    a->used_total = a->high_water = a->capacity = 0;
}

void *mtl_arena_alloc(mtl_arena *a, size_t bytes) {
    size_t need = (bytes + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    if (need < bytes) return NULL; /* overflow */
    if (need == 0) need = ARENA_ALIGN;
    if (!a->head || a->head->size - a->head->used < need) {
        size_t size = a->capacity > ARENA_MIN_CHUNK ? a->capacity : ARENA_MIN_CHUNK;
        if (size < need) size = need;
        mtl_arena_chunk *c = chunk_new(size, a->head);
        if (!c) return NULL;
        a->head = c;
        a->capacity += size;
    }
    void *p = a->head->base + a->head->used;
    a->head->used += need;
    a->used_total += need;
    if (a->used_total > a->high_water) a->high_water = a->used_total;
    return p;
}

void mtl_arena_reset(mtl_arena *a) {
    if (a->head && a->head->prev) {
        /* the last step needed several chunks: replace them by one that holds it all */
        size_t want = a->high_water;
        mtl_arena_free(a);
        size_t hw = want;
        mtl_arena_init(a);
        a->high_water = hw;
        mtl_arena_chunk *c = chunk_new(want < ARENA_MIN_CHUNK ? ARENA_MIN_CHUNK : want, NULL);
        if (c) {
            a->head = c;
            a->capacity = c->size;
        }
    } else if (a->head) {
        a->head->used = 0;
    }
    a->used_total = 0;
}

void mtl_arena_rewind(mtl_arena *a, size_t mark) {
    if (!a->head || mark > a->used_total) return;
    size_t chunk_start = a->used_total - a->head->used; /* used_total when the newest chunk began */
    /* chunks started after the mark hold only what is given back: free them (this happens
     * only while the arena is still growing; afterwards it is one chunk) */
    while (mark < chunk_start && a->head->prev) {
        mtl_arena_chunk *c = a->head;
        a->head = c->prev;
        a->capacity -= c->size;
        a->used_total = chunk_start;
        munmap(c->base, c->size);
        free(c);
        chunk_start = a->used_total - a->head->used;
    }
    if (mark < chunk_start) return;
    a->head->used = mark - chunk_start;
    a->used_total = mark;
}

void mtl_arena_free(mtl_arena *a) {
    mtl_arena_chunk *c = a->head;
    while (c) {
        mtl_arena_chunk *prev = c->prev;
        munmap(c->base, c->size);
        free(c);
        c = prev;
    }
    mtl_arena_init(a);
}
