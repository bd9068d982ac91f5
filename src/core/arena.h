/* Bump allocator for one training step's activations. Reset is O(1); after a step
 * that needed several chunks, reset merges them into one, so the steady state does
 * no allocation at all. Every pointer is 64-byte aligned. */
#ifndef MTL_ARENA_H
#define MTL_ARENA_H
#include <stddef.h>

typedef struct mtl_arena_chunk mtl_arena_chunk;
typedef struct {
    mtl_arena_chunk *head; /* current chunk (newest) */
    size_t used_total;     /* bytes handed out since reset, all chunks */
    size_t high_water;     /* largest used_total seen */
    size_t capacity;       /* bytes held in all chunks */
} mtl_arena;

void mtl_arena_init(mtl_arena *a);
void *mtl_arena_alloc(mtl_arena *a, size_t bytes); /* NULL when out of memory */
void mtl_arena_reset(mtl_arena *a);
/* Gives back everything allocated since used_total was `mark` (a value of used_total read
 * earlier), when it all lies in the newest chunk; otherwise does nothing. */
void mtl_arena_rewind(mtl_arena *a, size_t mark);
void mtl_arena_free(mtl_arena *a);
#endif
