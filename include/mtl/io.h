/* safetensors files: an 8-byte little-endian header length, a JSON header
 * {"name": {"dtype", "shape", "data_offsets"}, "__metadata__": {...}}, raw data.
 * Used for checkpoints (names = PyTorch state_dict names) and test fixtures. */
#ifndef MTL_IO_H
#define MTL_IO_H

#include <stdio.h>

#include "mtl/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { MTL_DTYPE_F32, MTL_DTYPE_F64, MTL_DTYPE_I32, MTL_DTYPE_I64 } mtl_dtype;
#define MTL_ST_MAX_DIMS 8

typedef struct {
    const char *name;
    mtl_dtype dtype;
    int ndim;
    int64_t shape[MTL_ST_MAX_DIMS];
    int64_t count;    /* elements */
    const void *data; /* little-endian raw values inside the loaded file */
} mtl_st_tensor;

typedef struct mtl_st_file mtl_st_file;
/* reads and validates a whole file (offsets, sizes, dtypes) */
mtl_status mtl_st_load(const char *path, mtl_st_file **out);
void mtl_st_free(mtl_st_file *f);
int mtl_st_count(const mtl_st_file *f);
const mtl_st_tensor *mtl_st_at(const mtl_st_file *f, int i);
const mtl_st_tensor *mtl_st_find(const mtl_st_file *f, const char *name);
/* a string of "__metadata__", or NULL */
const char *mtl_st_metadata(const mtl_st_file *f, const char *key);
/* name's values converted to float32 into out (count floats); error if the name is
 * missing or its element count differs from `count` */
mtl_status mtl_st_read_f32(const mtl_st_file *f, const char *name, float *out, int64_t count);

typedef struct mtl_st_writer mtl_st_writer;
mtl_status mtl_st_writer_create(mtl_st_writer **out);
void mtl_st_writer_free(mtl_st_writer *w);
/* data is copied; shape has ndim entries */
mtl_status mtl_st_writer_add(mtl_st_writer *w, const char *name, mtl_dtype dtype, int ndim, const int64_t *shape,
                             const void *data);
mtl_status mtl_st_writer_meta(mtl_st_writer *w, const char *key, const char *value);
/* writes path.tmp, flushes, then renames it to path: never a half-written file */
mtl_status mtl_st_writer_save(mtl_st_writer *w, const char *path);

/* ---- atomic files (src/core/file.c) ----------------------------------------------
 * open writes to path.tmp; commit flushes, fsyncs and renames it over path (an error if
 * any write failed); abort removes the temporary file. Never a half-written file. */
typedef struct {
    FILE *f; /* write here between open and commit */
    char path[4096], tmp[4100];
} mtl_afile;
mtl_status mtl_afile_open(mtl_afile *a, const char *path);
mtl_status mtl_afile_commit(mtl_afile *a);
void mtl_afile_abort(mtl_afile *a);

#ifdef __cplusplus
}
#endif
#endif
