/* mtl core: status codes and error messages, threads, counter-based RNG, tensors. */
#ifndef MTL_CORE_H
#define MTL_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- status ------------------------------------------------------------------
 * Every fallible call returns an mtl_status (or NULL for calls that return a
 * pointer) and leaves a readable message in mtl_last_error(): what failed, where,
 * and what was expected. Library code never prints, exits or aborts. */
typedef enum {
    MTL_OK = 0,
    MTL_ERR_ARG,     /* a null pointer or an invalid argument value */
    MTL_ERR_SHAPE,   /* tensor shapes do not fit together */
    MTL_ERR_RANGE,   /* an index outside its valid range */
    MTL_ERR_NOMEM,   /* out of memory */
    MTL_ERR_IO,      /* a file could not be opened, read or written */
    MTL_ERR_FORMAT,  /* a file or string is not in the expected format */
    MTL_ERR_NUMERIC, /* NaN or infinity where a finite number is required */
    MTL_ERR_STATE    /* a call made in the wrong state (e.g. before finalize) */
} mtl_status;

const char *mtl_status_name(mtl_status s);
/* The message of the most recent failure on this thread ("" if none). */
const char *mtl_last_error(void);
/* The status of that failure (MTL_OK if none). */
mtl_status mtl_last_status(void);
/* Sets this thread's message (printf-style) and returns s. */
mtl_status mtl_error(mtl_status s, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
void mtl_clear_error(void);

const char *mtl_version(void);

/* ---- threads -----------------------------------------------------------------
 * mtl parallelises with OpenMP over batch and channels and always calls BLAS
 * single-threaded, so threads never nest. n <= 0 means one per core. */
mtl_status mtl_set_threads(int n);
int mtl_get_threads(void);
/* A one-line description of the BLAS and threading configuration. */
const char *mtl_build_info(void);

/* ---- RNG ---------------------------------------------------------------------
 * Counter-based (Philox-4x32-10): draw i of a stream depends only on
 * (seed, stream, counter), never on thread scheduling. */
typedef struct {
    uint32_t key[2];
    uint64_t stream;
    uint64_t counter; /* next 128-bit block */
} mtl_rng;

void mtl_rng_init(mtl_rng *r, uint64_t seed, uint64_t stream);
uint32_t mtl_rng_u32(mtl_rng *r);
/* uniform integer in [0, n) without modulo bias; n > 0 */
uint64_t mtl_rng_below(mtl_rng *r, uint64_t n);
/* one float uniform in [0, 1) */
float mtl_rng_float(mtl_rng *r);
void mtl_rng_uniform(mtl_rng *r, float *out, int64_t n, float lo, float hi);
void mtl_rng_normal(mtl_rng *r, float *out, int64_t n, float mean, float std);
/* out[0..n) = a uniformly random permutation of 0..n-1 */
mtl_status mtl_rng_permutation(mtl_rng *r, int32_t *out, int64_t n);
/* Stateless: the 4 words of block `counter` of (seed, stream). */
void mtl_philox(uint64_t seed, uint64_t stream, uint64_t counter, uint32_t out[4]);

/* ---- tensors -----------------------------------------------------------------
 * float32, contiguous, row-major, 0 to 4 dimensions (N-C-L for 1-D signals).
 * Activations live in a tape's arena until mtl_tape_reset(); parameters live in
 * an mtl_params block. The fields are readable; create tensors with the
 * functions below, never by hand. */
#define MTL_MAX_DIMS 4

enum {
    MTL_TENSOR_REQUIRES_GRAD = 1u << 0, /* backward computes a gradient for it */
    MTL_TENSOR_PARAM = 1u << 1          /* lives in an mtl_params block */
};

typedef struct mtl_tensor {
    float *data;
    float *grad; /* params: a slice of the gradient block; activations: NULL until backward reaches them */
    int64_t size;
    int ndim;
    int shape[MTL_MAX_DIMS];
    unsigned flags;
    int id; /* params: index in their mtl_params; activations: creation index on the tape */
} mtl_tensor;

typedef struct {
    int ndim;
    int d[MTL_MAX_DIMS];
} mtl_shape;

#define MTL__NARGS_(a, b, c, d, n, ...) n
#define MTL__NARGS(...) MTL__NARGS_(__VA_ARGS__, 4, 3, 2, 1, 0)
/* MTL_SHAPE(50, 16, 2048) */
#define MTL_SHAPE(...) ((mtl_shape){MTL__NARGS(__VA_ARGS__), {__VA_ARGS__}})
#define MTL_SCALAR_SHAPE ((mtl_shape){0, {0}})

mtl_shape mtl_tensor_shape(const mtl_tensor *x);
bool mtl_shape_equal(mtl_shape a, mtl_shape b);
/* number of elements, or -1 if the shape is invalid (negative dims, ndim out of 0..4, overflow) */
int64_t mtl_shape_size(mtl_shape s);
/* "[50, 16, 2048]" into buf; returns buf */
char *mtl_shape_str(mtl_shape s, char *buf, size_t cap);
/* MTL_OK if every element is finite; else MTL_ERR_NUMERIC with the index in the message */
mtl_status mtl_check_finite(const float *x, int64_t n, const char *what);

#ifdef __cplusplus
}
#endif
#endif
