/* safetensors reader/writer (round trips, malformed files, atomic saves, a file
 * written by the Python side) and the JSON parser behind it. */
#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/json.h"
#include "harness.h"





/* a safetensors file: 8-byte little-endian `hlen` (the real length if hlen == -1), header, data */
static void write_st(const char *path, const char *header, int64_t hlen, const void *data, size_t ndata) {
    size_t h = strlen(header);
    uint64_t len = hlen < 0 ? (uint64_t)h : (uint64_t)hlen;
    unsigned char *buf = malloc(8 + h + ndata + 1);
    for (int i = 0; i < 8; i++) buf[i] = (unsigned char)(len >> (8 * i));
    memcpy(buf + 8, header, h);
    if (ndata) memcpy(buf + 8 + h, data, ndata);
    th_write_bytes(path, buf, 8 + h + ndata);
    free(buf);
}


/* ==== round trip ================================================================ */

static void st_round_trip(void) {
    float f32[6] = {1.5f, -2.25f, 3.0e-38f, INFINITY, -0.0f, 123456.789f};
    double f64[5] = {3.141592653589793, -1e300, 5e-324, 0.1, 16777217.0};
    int32_t i32[4] = {0, -1, INT32_MAX, INT32_MIN};
    int64_t i64[3] = {INT64_MIN, INT64_MAX, ((int64_t)1 << 53) + 1};
    float scalar = 42.5f;
    float f4[2 * 3 * 4 * 5];
    for (int i = 0; i < 120; i++) f4[i] = (float)i * 0.5f - 7.0f;
    int32_t i8d[2] = {7, -7};
    const int64_t s_f32[2] = {2, 3}, s_f64[1] = {5}, s_i32[2] = {2, 2}, s_i64[1] = {3}, s_empty[2] = {0, 5},
                  s_4d[4] = {2, 3, 4, 5}, s_8d[8] = {1, 1, 1, 1, 1, 1, 2, 1};
    mtl_st_writer *w;
    CHECK_OK(mtl_st_writer_create(&w));
    CHECK_OK(mtl_st_writer_add(w, "a.f32", MTL_DTYPE_F32, 2, s_f32, f32));
    CHECK_OK(mtl_st_writer_add(w, "b.f64", MTL_DTYPE_F64, 1, s_f64, f64));
    CHECK_OK(mtl_st_writer_add(w, "c.i32", MTL_DTYPE_I32, 2, s_i32, i32));
    CHECK_OK(mtl_st_writer_add(w, "d.i64", MTL_DTYPE_I64, 1, s_i64, i64));
    CHECK_OK(mtl_st_writer_add(w, "e.scalar", MTL_DTYPE_F32, 0, NULL, &scalar));
    CHECK_OK(mtl_st_writer_add(w, "f.empty", MTL_DTYPE_F32, 2, s_empty, NULL));
    CHECK_OK(mtl_st_writer_add(w, "g.4d", MTL_DTYPE_F32, 4, s_4d, f4));
    CHECK_OK(mtl_st_writer_add(w, "h.8d.\xc3\xa9", MTL_DTYPE_I32, 8, s_8d, i8d));
    CHECK_OK(mtl_st_writer_meta(w, "format", "mtl-test"));
    CHECK_OK(mtl_st_writer_meta(w, "note", "hello, world: {not a tensor} [1]"));
    /* the writer copies: changing the caller's data afterwards does not matter */
    float f32_copy[6];
    memcpy(f32_copy, f32, sizeof f32);
    f32[0] = 999.0f;
    const char *path = th_tmp_path("round.safetensors");
    CHECK_OK(mtl_st_writer_save(w, path));
    mtl_st_writer_free(w);
    CHECK(!th_exists(th_tmp_path("round.safetensors.tmp")), "the .tmp file was left behind");

    /* the layout on disk: the data section starts 8-aligned */
    size_t n = 0;
    unsigned char *raw = (unsigned char *)th_read_file(path, &n);
    CHECK(raw && n >= 8, "cannot read back");
    if (raw) {
        uint64_t hlen = 0;
        for (int i = 7; i >= 0; i--) hlen = hlen << 8 | raw[i];
        CHECK((8 + hlen) % 8 == 0, "data section at %llu, not 8-aligned", (unsigned long long)(8 + hlen));
        size_t data_bytes = sizeof f32 + sizeof f64 + sizeof i32 + sizeof i64 + 4 + 0 + sizeof f4 + sizeof i8d;
        CHECK(n == 8 + hlen + data_bytes, "file has %zu bytes, expected %llu", n,
              (unsigned long long)(8 + hlen + data_bytes));
        free(raw);
    }

    mtl_st_file *f = NULL;
    CHECK_OK(mtl_st_load(path, &f));
    if (!f) return;
    CHECK(mtl_st_count(f) == 8, "count %d", mtl_st_count(f));
    CHECK(mtl_st_metadata(f, "format") && strcmp(mtl_st_metadata(f, "format"), "mtl-test") == 0, "metadata format");
    CHECK(mtl_st_metadata(f, "note") && strcmp(mtl_st_metadata(f, "note"), "hello, world: {not a tensor} [1]") == 0,
          "metadata note '%s'", mtl_st_metadata(f, "note") ? mtl_st_metadata(f, "note") : "(null)");
    CHECK(mtl_st_metadata(f, "missing") == NULL, "missing metadata key");
    CHECK(mtl_st_find(f, "__metadata__") == NULL, "__metadata__ listed as a tensor");
    static const struct {
        const char *name;
        mtl_dtype dtype;
        int ndim;
        int64_t count;
    } want[] = {{"a.f32", MTL_DTYPE_F32, 2, 6},   {"b.f64", MTL_DTYPE_F64, 1, 5},    {"c.i32", MTL_DTYPE_I32, 2, 4},
                {"d.i64", MTL_DTYPE_I64, 1, 3},   {"e.scalar", MTL_DTYPE_F32, 0, 1}, {"f.empty", MTL_DTYPE_F32, 2, 0},
                {"g.4d", MTL_DTYPE_F32, 4, 120}, {"h.8d.\xc3\xa9", MTL_DTYPE_I32, 8, 2}};
    const void *data[] = {f32_copy, f64, i32, i64, &scalar, NULL, f4, i8d};
    const int64_t *shapes[] = {s_f32, s_f64, s_i32, s_i64, NULL, s_empty, s_4d, s_8d};
    static const size_t esize[] = {4, 8, 4, 8, 4, 4, 4, 4};
    for (int i = 0; i < 8; i++) {
        const mtl_st_tensor *t = mtl_st_find(f, want[i].name);
        CHECK(t != NULL, "'%s' missing", want[i].name);
        if (!t) continue;
        CHECK(mtl_st_at(f, i) == t, "'%s' is not entry %d", want[i].name, i);
        CHECK(strcmp(t->name, want[i].name) == 0, "name '%s'", t->name);
        CHECK(t->dtype == want[i].dtype && t->ndim == want[i].ndim && t->count == want[i].count,
              "%s: dtype %d ndim %d count %lld", t->name, (int)t->dtype, t->ndim, (long long)t->count);
        for (int d = 0; d < t->ndim && d < want[i].ndim; d++)
            CHECK(t->shape[d] == shapes[i][d], "%s: dim %d is %lld", t->name, d, (long long)t->shape[d]);
        if (t->count) CHECK(memcmp(t->data, data[i], (size_t)t->count * esize[i]) == 0, "%s: data differs", t->name);
    }
    CHECK(mtl_st_at(f, 8) == NULL && mtl_st_at(f, -1) == NULL, "st_at out of range");
    CHECK(mtl_st_find(f, "nope") == NULL && mtl_st_find(f, NULL) == NULL, "find of unknown names");

    /* conversions to float32 */
    float out[120];
    CHECK_OK(mtl_st_read_f32(f, "b.f64", out, 5));
    for (int i = 0; i < 5; i++) CHECK(out[i] == (float)f64[i], "f64[%d] -> %g", i, out[i]);
    CHECK_OK(mtl_st_read_f32(f, "c.i32", out, 4));
    for (int i = 0; i < 4; i++) CHECK(out[i] == (float)i32[i], "i32[%d] -> %g", i, out[i]);
    CHECK_OK(mtl_st_read_f32(f, "d.i64", out, 3));
    for (int i = 0; i < 3; i++) CHECK(out[i] == (float)i64[i], "i64[%d] -> %g", i, out[i]);
    CHECK_OK(mtl_st_read_f32(f, "g.4d", out, 120));
    CHECK(memcmp(out, f4, sizeof f4) == 0, "f32 4-d read differs");
    CHECK_OK(mtl_st_read_f32(f, "e.scalar", out, 1));
    CHECK(out[0] == 42.5f, "scalar %g", out[0]);
    CHECK_OK(mtl_st_read_f32(f, "f.empty", NULL, 0));
    mtl_clear_error();
    CHECK(mtl_st_read_f32(f, "g.4d", out, 119) != MTL_OK, "wrong count accepted");
    CHECK(strstr(mtl_last_error(), "g.4d") && strstr(mtl_last_error(), path), "message '%s'", mtl_last_error());
    mtl_clear_error();
    CHECK(mtl_st_read_f32(f, "zzz", out, 1) != MTL_OK, "missing tensor accepted");
    CHECK(strstr(mtl_last_error(), "zzz") != NULL, "message '%s' does not name the tensor", mtl_last_error());
    CHECK(mtl_st_read_f32(f, "a.f32", NULL, 6) == MTL_ERR_ARG, "NULL out accepted");
    CHECK(mtl_st_read_f32(NULL, "a.f32", out, 6) == MTL_ERR_ARG, "NULL file accepted");
    mtl_st_free(f);

    /* saving again over the file replaces it */
    CHECK_OK(mtl_st_writer_create(&w));
    CHECK_OK(mtl_st_writer_add(w, "only", MTL_DTYPE_I64, 1, s_i64, i64));
    CHECK_OK(mtl_st_writer_save(w, path));
    mtl_st_writer_free(w);
    CHECK_OK(mtl_st_load(path, &f));
    CHECK(f && mtl_st_count(f) == 1 && mtl_st_find(f, "only") && !mtl_st_find(f, "a.f32"), "overwrite");
    CHECK(f && mtl_st_metadata(f, "format") == NULL, "old metadata survived");
    mtl_st_free(f);

    /* an empty writer gives a valid empty file */
    CHECK_OK(mtl_st_writer_create(&w));
    CHECK_OK(mtl_st_writer_save(w, th_tmp_path("empty.safetensors")));
    mtl_st_writer_free(w);
    f = NULL;
    CHECK_OK(mtl_st_load(th_tmp_path("empty.safetensors"), &f));
    CHECK(f && mtl_st_count(f) == 0, "empty file");
    mtl_st_free(f);
}

static void st_writer_errors(void) {
    mtl_st_writer *w;
    float x[4] = {0};
    const int64_t s2[1] = {2}, neg[1] = {-2}, nine[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    CHECK(mtl_st_writer_create(NULL) == MTL_ERR_ARG, "create(NULL)");
    CHECK_OK(mtl_st_writer_create(&w));
    mtl_clear_error();
    CHECK(mtl_st_writer_add(NULL, "a", MTL_DTYPE_F32, 1, s2, x) == MTL_ERR_ARG, "NULL writer");
    CHECK(mtl_last_error()[0], "no message");
    CHECK(mtl_st_writer_add(w, NULL, MTL_DTYPE_F32, 1, s2, x) == MTL_ERR_ARG, "NULL name");
    CHECK(mtl_st_writer_add(w, "a", MTL_DTYPE_F32, 1, NULL, x) == MTL_ERR_ARG, "NULL shape");
    CHECK(mtl_st_writer_add(w, "a", MTL_DTYPE_F32, 1, s2, NULL) == MTL_ERR_ARG, "NULL data");
    CHECK(mtl_st_writer_add(w, "a", MTL_DTYPE_F32, 1, neg, x) == MTL_ERR_ARG, "negative dim");
    CHECK(mtl_st_writer_add(w, "a", MTL_DTYPE_F32, 9, nine, x) == MTL_ERR_ARG, "9 dims");
    CHECK(mtl_st_writer_add(w, "a", MTL_DTYPE_F32, -1, s2, x) == MTL_ERR_ARG, "-1 dims");
    CHECK(mtl_st_writer_add(w, "a\"b", MTL_DTYPE_F32, 1, s2, x) == MTL_ERR_ARG, "quote in name");
    CHECK(mtl_st_writer_add(w, "a\\b", MTL_DTYPE_F32, 1, s2, x) == MTL_ERR_ARG, "backslash in name");
    CHECK(mtl_st_writer_add(w, "a\nb", MTL_DTYPE_F32, 1, s2, x) == MTL_ERR_ARG, "newline in name");
    CHECK(mtl_st_writer_meta(w, "k\"", "v") == MTL_ERR_ARG, "quote in metadata key");
    CHECK(mtl_st_writer_meta(w, "k", "v\"") == MTL_ERR_ARG, "quote in metadata value");
    CHECK(mtl_st_writer_meta(w, NULL, "v") == MTL_ERR_ARG && mtl_st_writer_meta(NULL, "k", "v") == MTL_ERR_ARG,
          "NULL metadata");
    CHECK(mtl_st_writer_save(w, NULL) == MTL_ERR_ARG && mtl_st_writer_save(NULL, "x") == MTL_ERR_ARG, "NULL save");
    /* none of the failures left an entry: the file is empty and valid */
    CHECK_OK(mtl_st_writer_save(w, th_tmp_path("after_errors.safetensors")));
    mtl_st_file *f = NULL;
    CHECK_OK(mtl_st_load(th_tmp_path("after_errors.safetensors"), &f));
    CHECK(f && mtl_st_count(f) == 0, "failed adds left %d entries", mtl_st_count(f));
    mtl_st_free(f);
    mtl_st_writer_free(w);
    mtl_st_writer_free(NULL);
    mtl_st_free(NULL);
    CHECK(mtl_st_count(NULL) == 0 && mtl_st_at(NULL, 0) == NULL && mtl_st_metadata(NULL, "k") == NULL, "NULL file");
}

/* a failed save never leaves a file at path, nor a half-written .tmp */
static void st_atomic_save(void) {
    float x[3] = {1, 2, 3};
    const int64_t s3[1] = {3};
    mtl_st_writer *w;
    CHECK_OK(mtl_st_writer_create(&w));
    CHECK_OK(mtl_st_writer_add(w, "x", MTL_DTYPE_F32, 1, s3, x));
    const char *missing = th_tmp_path("no/such/dir/out.safetensors");
    mtl_clear_error();
    mtl_status s = mtl_st_writer_save(w, missing);
    CHECK(s == MTL_ERR_IO, "save into a missing directory: %s", mtl_status_name(s));
    CHECK(strstr(mtl_last_error(), "out.safetensors") != NULL, "message '%s' does not name the file", mtl_last_error());
    CHECK(!th_exists(missing) && !th_exists(th_tmp_path("no")), "something was created");

    /* the target is a directory: the rename fails, the .tmp must be removed, the directory kept */
    const char *dir = th_tmp_path("is_a_dir");
    CHECK(mkdir(dir, 0700) == 0, "mkdir");
    mtl_clear_error();
    s = mtl_st_writer_save(w, dir);
    CHECK(s != MTL_OK, "saving over a directory succeeded");
    CHECK(mtl_last_error()[0], "no message");
    CHECK(!th_exists(th_tmp_path("is_a_dir.tmp")), "a failed save left is_a_dir.tmp behind");
    struct stat st;
    CHECK(stat(dir, &st) == 0 && S_ISDIR(st.st_mode), "the directory was replaced");
    rmdir(dir);

    /* a good file is not damaged by a later failed save into the same name's directory */
    const char *good = th_tmp_path("good.safetensors");
    CHECK_OK(mtl_st_writer_save(w, good));
    mtl_st_writer_free(w);
    size_t n1 = 0;
    unsigned char *before = (unsigned char *)th_read_file(good, &n1);
    CHECK(before != NULL, "read");
    CHECK_OK(mtl_st_writer_create(&w));
    CHECK(mtl_st_writer_save(w, th_tmp_path("good.safetensors/inner")) != MTL_OK, "save below a file succeeded");
    mtl_st_writer_free(w);
    size_t n2 = 0;
    unsigned char *after = (unsigned char *)th_read_file(good, &n2);
    CHECK(after && n1 == n2 && memcmp(before, after, n1) == 0, "the good file changed");
    free(before), free(after);
}

/* ==== malformed files ============================================================ */

static void expect_load_error(const char *file, mtl_status want, const char *also) {
    const char *path = th_tmp_path(file);
    mtl_st_file *f = (mtl_st_file *)&f; /* must become NULL */
    mtl_clear_error();
    mtl_status s = mtl_st_load(path, &f);
    CHECK(s == want, "%s: status %s, expected %s (%s)", file, mtl_status_name(s), mtl_status_name(want),
          mtl_last_error());
    CHECK(f == NULL, "%s: out not cleared", file);
    if (s == MTL_OK) mtl_st_free(f);
    CHECK(strstr(mtl_last_error(), path) != NULL, "%s: message '%s' does not name the file", file, mtl_last_error());
    if (also) CHECK(strstr(mtl_last_error(), also) != NULL, "%s: message '%s' lacks '%s'", file, mtl_last_error(), also);
}

/* 2^32 * 2^32 * 2^32 elements with data_offsets [0, 0]: the count must not wrap to 0 */
static void st_shape_overflow(void) {
    write_st(th_tmp_path("overflow.safetensors"),
             "{\"t\":{\"dtype\":\"F64\",\"shape\":[4294967296,4294967296,4294967296],\"data_offsets\":[0,0]}}", -1,
             NULL, 0);
    expect_load_error("overflow.safetensors", MTL_ERR_FORMAT, NULL);
}

static void st_malformed(void) {
    unsigned char data[32] = {0};
    expect_load_error("does_not_exist.safetensors", MTL_ERR_IO, NULL);
    th_write_bytes(th_tmp_path("three.safetensors"), "abc", 3);
    expect_load_error("three.safetensors", MTL_ERR_FORMAT, NULL);
    th_write_bytes(th_tmp_path("zero.safetensors"), "", 0);
    expect_load_error("zero.safetensors", MTL_ERR_FORMAT, NULL);
    write_st(th_tmp_path("hlen_past.safetensors"), "{}", 1000, NULL, 0);
    expect_load_error("hlen_past.safetensors", MTL_ERR_FORMAT, NULL);
    write_st(th_tmp_path("hlen_huge.safetensors"), "{}", INT64_MAX, NULL, 0);
    expect_load_error("hlen_huge.safetensors", MTL_ERR_FORMAT, NULL);
    {   /* 2^64 - 1: must not wrap around */
        unsigned char b[10] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, '{', '}'};
        th_write_bytes(th_tmp_path("hlen_max.safetensors"), b, 10);
        expect_load_error("hlen_max.safetensors", MTL_ERR_FORMAT, NULL);
    }
    write_st(th_tmp_path("not_json.safetensors"), "{this is not json}", -1, NULL, 0);
    expect_load_error("not_json.safetensors", MTL_ERR_FORMAT, NULL);
    write_st(th_tmp_path("truncated_json.safetensors"), "{\"a\":{\"dtype\":\"F32\"", -1, NULL, 0);
    expect_load_error("truncated_json.safetensors", MTL_ERR_FORMAT, NULL);
    write_st(th_tmp_path("array.safetensors"), "[1, 2]", -1, NULL, 0);
    expect_load_error("array.safetensors", MTL_ERR_FORMAT, NULL);
    write_st(th_tmp_path("past_data.safetensors"), "{\"t\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", -1,
             data, 8);
    expect_load_error("past_data.safetensors", MTL_ERR_FORMAT, NULL);
    write_st(th_tmp_path("inconsistent.safetensors"),
             "{\"t\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", -1, data, 16);
    expect_load_error("inconsistent.safetensors", MTL_ERR_FORMAT, "t");
    write_st(th_tmp_path("inconsistent64.safetensors"),
             "{\"t\":{\"dtype\":\"F64\",\"shape\":[2,2],\"data_offsets\":[0,16]}}", -1, data, 32);
    expect_load_error("inconsistent64.safetensors", MTL_ERR_FORMAT, NULL);
    write_st(th_tmp_path("bf16.safetensors"), "{\"w\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[0,4]}}", -1,
             data, 4);
    expect_load_error("bf16.safetensors", MTL_ERR_FORMAT, NULL);
    write_st(th_tmp_path("negative.safetensors"), "{\"t\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}",
             -1, data, 4);
    expect_load_error("negative.safetensors", MTL_ERR_FORMAT, NULL);
    write_st(th_tmp_path("fraction_shape.safetensors"),
             "{\"t\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", -1, data, 8);
    expect_load_error("fraction_shape.safetensors", MTL_ERR_FORMAT, NULL);
    write_st(th_tmp_path("string_shape.safetensors"),
             "{\"t\":{\"dtype\":\"F32\",\"shape\":[\"2\"],\"data_offsets\":[0,8]}}", -1, data, 8);
    expect_load_error("string_shape.safetensors", MTL_ERR_FORMAT, NULL);
    write_st(th_tmp_path("reversed.safetensors"), "{\"t\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,0]}}", -1,
             data, 8);
    expect_load_error("reversed.safetensors", MTL_ERR_FORMAT, NULL);
    write_st(th_tmp_path("neg_offset.safetensors"),
             "{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}", -1, data, 8);
    expect_load_error("neg_offset.safetensors", MTL_ERR_FORMAT, NULL);
    write_st(th_tmp_path("frac_offset.safetensors"),
             "{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0.5,4.5]}}", -1, data, 8);
    expect_load_error("frac_offset.safetensors", MTL_ERR_FORMAT, NULL);
    write_st(th_tmp_path("one_offset.safetensors"), "{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", -1,
             data, 8);
    expect_load_error("one_offset.safetensors", MTL_ERR_FORMAT, NULL);
    write_st(th_tmp_path("no_dtype.safetensors"), "{\"t\":{\"shape\":[1],\"data_offsets\":[0,4]}}", -1, data, 4);
    expect_load_error("no_dtype.safetensors", MTL_ERR_FORMAT, NULL);
    write_st(th_tmp_path("entry_number.safetensors"), "{\"t\":3}", -1, NULL, 0);
    expect_load_error("entry_number.safetensors", MTL_ERR_FORMAT, NULL);
    write_st(th_tmp_path("nine_dims.safetensors"),
             "{\"t\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", -1, data, 4);
    expect_load_error("nine_dims.safetensors", MTL_ERR_FORMAT, NULL);
    th_isolated("a shape whose element count overflows int64", st_shape_overflow);
    /* the second entry is the bad one: the message names it */
    write_st(th_tmp_path("second_bad.safetensors"),
             "{\"good\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
             "\"bad_one\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,16]}}",
             -1, data, 16);
    expect_load_error("second_bad.safetensors", MTL_ERR_FORMAT, "bad_one");

    /* and well-formed hand-written files load: extra whitespace, no metadata, a trailing gap */
    write_st(th_tmp_path("ok.safetensors"),
             "  { \"t\" : { \"shape\" : [ 2 ] , \"data_offsets\" : [ 0 , 8 ] , \"dtype\" : \"I32\" } }   ", -1, data, 8);
    mtl_st_file *f = NULL;
    CHECK_OK(mtl_st_load(th_tmp_path("ok.safetensors"), &f));
    CHECK(f && mtl_st_count(f) == 1 && mtl_st_find(f, "t") && mtl_st_find(f, "t")->count == 2, "hand-written file");
    mtl_st_free(f);
    CHECK(mtl_st_load(NULL, &f) == MTL_ERR_ARG, "NULL path");
    CHECK(mtl_st_load(th_tmp_path("ok.safetensors"), NULL) == MTL_ERR_ARG, "NULL out");
}

/* A file written by the Python side (tests/parity/fixture.py). */
static void st_python_fixture(void) {
    const char *dir = getenv("MTL_FIXTURES");
    char path[1024];
    snprintf(path, sizeof path, "%s/ops_dense.safetensors", dir && *dir ? dir : "tests/fixtures");
    mtl_st_file *f = NULL;
    CHECK_OK(mtl_st_load(path, &f));
    if (!f) return;
    const char *fmt = mtl_st_metadata(f, "format"), *ver = mtl_st_metadata(f, "version");
    CHECK(fmt && strcmp(fmt, "mtl-fixture") == 0, "format '%s'", fmt ? fmt : "(null)");
    CHECK(ver && strcmp(ver, "1") == 0, "version '%s'", ver ? ver : "(null)");
    CHECK(mtl_st_metadata(f, "generator") != NULL, "no generator");
    CHECK(mtl_st_count(f) > 10, "only %d tensors", mtl_st_count(f));
    /* every tensor's data lies inside the file's data section */
    size_t n = 0;
    unsigned char *raw = (unsigned char *)th_read_file(path, &n);
    CHECK(raw != NULL, "cannot read %s", path);
    /* linear: y = x w^T + b, checked in double against the stored values */
    const mtl_st_tensor *x = mtl_st_find(f, "linear.x"), *w = mtl_st_find(f, "linear.w"), *b = mtl_st_find(f, "linear.b"),
                        *y = mtl_st_find(f, "linear.y");
    CHECK(x && w && b && y, "linear tensors missing");
    if (x && w && b && y && raw) {
        CHECK(x->dtype == MTL_DTYPE_F32 && x->ndim == 2 && w->ndim == 2 && x->shape[1] == w->shape[1] &&
                  y->shape[0] == x->shape[0] && y->shape[1] == w->shape[0] && b->count == w->shape[0],
              "linear shapes");
        uint64_t hlen = 0;
        for (int i = 7; i >= 0; i--) hlen = hlen << 8 | raw[i];
        /* fixture.py lays the tensors out back to back in header order */
        size_t off = 0;
        for (int i = 0; i < mtl_st_count(f); i++) {
            const mtl_st_tensor *t = mtl_st_at(f, i);
            size_t bytes = (size_t)t->count * (t->dtype == MTL_DTYPE_F64 || t->dtype == MTL_DTYPE_I64 ? 8 : 4);
            CHECK(8 + hlen + off + bytes <= n, "%s runs past the file", t->name);
            if (8 + hlen + off + bytes <= n)
                CHECK(memcmp(t->data, raw + 8 + hlen + off, bytes) == 0, "%s: data is not the file's bytes at %zu",
                      t->name, off);
            off += bytes;
        }
        CHECK(8 + hlen + off == n, "tensors cover %zu of %zu data bytes", off, (size_t)(n - 8 - hlen));
        float *X = malloc((size_t)x->count * 4), *Wt = malloc((size_t)w->count * 4), *B = malloc((size_t)b->count * 4),
              *Y = malloc((size_t)y->count * 4);
        CHECK_OK(mtl_st_read_f32(f, "linear.x", X, x->count));
        CHECK_OK(mtl_st_read_f32(f, "linear.w", Wt, w->count));
        CHECK_OK(mtl_st_read_f32(f, "linear.b", B, b->count));
        CHECK_OK(mtl_st_read_f32(f, "linear.y", Y, y->count));
        int N = (int)x->shape[0], I = (int)x->shape[1], O = (int)w->shape[0];
        double worst = 0;
        for (int r = 0; r < N; r++)
            for (int o = 0; o < O; o++) {
                double s = B[o];
                for (int k = 0; k < I; k++) s += (double)X[r * I + k] * Wt[o * I + k];
                double d = fabs(s - Y[r * O + o]);
                worst = d > worst ? d : worst;
            }
        CHECK(worst < 1e-5, "linear.y differs from x w^T + b by %g: data read from the wrong place?", worst);
        free(X), free(Wt), free(B), free(Y);
    }
    free(raw);
    mtl_st_free(f);
}

/* ==== JSON ====================================================================== */

static mtl_json *parse(const char *s) {
    mtl_json *v = NULL;
    mtl_status st = mtl_json_parse(s, strlen(s), "test", &v);
    CHECK(st == MTL_OK && v, "'%s' rejected: %s", s, mtl_last_error());
    return v;
}

static void json_valid(void) {
    const char *text = " {\"a\": {\"b\": [1, 2, {\"c\": null}], \"e\": {}}, \"s\": \"x\\ny\\\"z\\u00e9\\\\/\\t\\u20ac\","
                       " \"n\": -1.5e3, \"t\": true, \"f\": false, \"arr\": [], \"z\": 0, \"slash\": \"\\/\"} ";
    mtl_json *v = parse(text);
    if (!v) return;
    CHECK(v->type == MTL_JSON_OBJECT && v->count == 8, "root type %d count %d", v->type, v->count);
    const mtl_json *a = mtl_json_get(v, "a"), *b = mtl_json_get(a, "b");
    CHECK(a && a->type == MTL_JSON_OBJECT && a->count == 2, "a");
    CHECK(b && b->type == MTL_JSON_ARRAY && b->count == 3, "a.b");
    if (b && b->count == 3) {
        CHECK(b->child->type == MTL_JSON_NUMBER && b->child->number == 1, "b[0]");
        CHECK(b->child->next->number == 2, "b[1]");
        const mtl_json *c = b->child->next->next;
        CHECK(c->type == MTL_JSON_OBJECT && mtl_json_get(c, "c") && mtl_json_get(c, "c")->type == MTL_JSON_NULL, "b[2].c");
        CHECK(c->next == NULL, "b has a 4th element");
    }
    const mtl_json *e = mtl_json_get(a, "e");
    CHECK(e && e->type == MTL_JSON_OBJECT && e->count == 0 && e->child == NULL, "empty object");
    const mtl_json *s = mtl_json_get(v, "s");
    CHECK(s && s->type == MTL_JSON_STRING && strcmp(s->string, "x\ny\"z\xc3\xa9\\/\t\xe2\x82\xac") == 0,
          "escapes decoded to '%s'", s && s->string ? s->string : "(null)");
    const mtl_json *n = mtl_json_get(v, "n");
    CHECK(n && n->type == MTL_JSON_NUMBER && n->number == -1500.0, "number %g", n ? n->number : 0);
    const mtl_json *t = mtl_json_get(v, "t"), *f = mtl_json_get(v, "f");
    CHECK(t && t->type == MTL_JSON_BOOL && t->number == 1 && f && f->type == MTL_JSON_BOOL && f->number == 0, "bools");
    const mtl_json *arr = mtl_json_get(v, "arr");
    CHECK(arr && arr->type == MTL_JSON_ARRAY && arr->count == 0, "empty array");
    CHECK(mtl_json_get(v, "slash") && strcmp(mtl_json_get(v, "slash")->string, "/") == 0, "\\/");
    CHECK(mtl_json_get(v, "missing") == NULL && mtl_json_get(b, "x") == NULL && mtl_json_get(NULL, "x") == NULL,
          "get on missing / non-objects");
    mtl_json_free(v);

    /* scalars at the top level, and numbers */
    static const struct {
        const char *s;
        double v;
    } nums[] = {{"0", 0}, {"-0.5", -0.5}, {"3.25E2", 325}, {"1e-3", 1e-3}, {"123456789012", 123456789012.0}};
    for (int i = 0; i < 5; i++) {
        mtl_json *x = parse(nums[i].s);
        CHECK(x && x->type == MTL_JSON_NUMBER && x->number == nums[i].v, "'%s' -> %g", nums[i].s, x ? x->number : 0);
        mtl_json_free(x);
    }
    mtl_json *x = parse("\"\"");
    CHECK(x && x->type == MTL_JSON_STRING && x->string[0] == '\0', "empty string");
    mtl_json_free(x);
    x = parse("null");
    CHECK(x && x->type == MTL_JSON_NULL, "null");
    mtl_json_free(x);
    /* only len bytes are read: the rest of the buffer is ignored */
    const char *longer = "[1,2]garbage";
    CHECK(mtl_json_parse(longer, 5, "test", &x) == MTL_OK && x && x->count == 2, "len not respected");
    mtl_json_free(x);
    /* 50 nested arrays are fine */
    char deep[256];
    memset(deep, '[', 50), memset(deep + 50, ']', 50), deep[100] = '\0';
    x = parse(deep);
    mtl_json_free(x);
}

static void json_malformed(void) {
    static const char *bad[] = {
        "",            "   ",          "[1, 2,]",        "{\"a\": 1,}",   "\"abc",         "{\"a\": \"abc}",
        "[1 2]",       "{\"a\" 1}",    "{a: 1}",         "[1] x",         "tru",           "nul",
        "-",           "1.2.3",        "--1",            "\"\\x\"",       "\"\\u12g4\"",   "\"\\u12\"",
        "{\"a\"}",     "[",            "{",              "]",             "\"a\tb\"",      "{\"a\":1 \"b\":2}",
        "[,1]",        "{,}",          "\"abc\\",        "+",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        mtl_json *v = (mtl_json *)&v;
        mtl_clear_error();
        mtl_status s = mtl_json_parse(bad[i], strlen(bad[i]), "cfg.json", &v);
        CHECK(s == MTL_ERR_FORMAT, "'%s' -> %s", bad[i], mtl_status_name(s));
        CHECK(v == NULL, "'%s': out not NULL", bad[i]);
        if (s == MTL_OK) mtl_json_free(v);
        CHECK(strstr(mtl_last_error(), "cfg.json") != NULL, "'%s': message '%s' does not name the input", bad[i],
              mtl_last_error());
    }
    /* 100 nested arrays: too deep, rejected without blowing the stack */
    char deep[256];
    memset(deep, '[', 100), memset(deep + 100, ']', 100), deep[200] = '\0';
    mtl_json *v = NULL;
    CHECK(mtl_json_parse(deep, 200, "deep", &v) == MTL_ERR_FORMAT && v == NULL, "100 nested arrays accepted");
    /* also deep objects, and a very deep unterminated input */
    static char huge[100001];
    memset(huge, '[', 100000);
    CHECK(mtl_json_parse(huge, 100000, "huge", &v) == MTL_ERR_FORMAT && v == NULL, "100000 '[' accepted");
    char objs[1024] = "";
    for (int i = 0; i < 100; i++) strcat(objs, "{\"a\":");
    strcat(objs, "1");
    for (int i = 0; i < 100; i++) strcat(objs, "}");
    CHECK(mtl_json_parse(objs, strlen(objs), "objs", &v) == MTL_ERR_FORMAT && v == NULL, "100 nested objects accepted");
    CHECK(mtl_json_parse(NULL, 0, "x", &v) == MTL_ERR_ARG, "NULL text");
    CHECK(mtl_json_parse("1", 1, "x", NULL) == MTL_ERR_ARG, "NULL out");
    mtl_json_free(NULL);
}


int main(void) {
    if (!th_tmpdir_create("mtl_test_st")) return 1;
    RUN(st_round_trip);
    RUN(st_writer_errors);
    RUN(st_atomic_save);
    RUN(st_malformed);
    RUN(st_python_fixture);
    RUN(json_valid);
    RUN(json_malformed);
    th_tmpdir_remove();
    return th_summary();
}
