/* embedding: finite-difference gradient check, PyTorch parity (repeated ids), sparse
 * accumulation into existing gradients, the ids copy, determinism, errors. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"

typedef struct {
    const int32_t *ids;
    int n;
} emb_ctx;

static mtl_tensor *fw_embedding(mtl_tape *t, mtl_tensor **in, void *ctx) {
    const emb_ctx *c = ctx;
    return mtl_embedding(t, in[0], c->ids, c->n);
}

static void gradcheck_embedding(void) {
    float table[6 * 4];
    th_fill(table, 24, 1, -1, 1);
    int32_t ids[5] = {2, 0, 2, 5, 2}; /* 2 three times; rows 1, 3, 4 unused */
    emb_ctx c = {ids, 5};
    th_gradcheck g = {.name = "embedding [6,4] x 5 ids", .n_in = 1, .data = {table}, .shape = {MTL_SHAPE(6, 4)},
                      .check = {1}, .forward = fw_embedding, .ctx = &c};
    th_gradcheck_run(&g);
    int32_t one[1] = {3};
    emb_ctx c1 = {one, 1};
    th_gradcheck g1 = {.name = "embedding [6,4] x 1 id", .n_in = 1, .data = {table}, .shape = {MTL_SHAPE(6, 4)},
                       .check = {1}, .forward = fw_embedding, .ctx = &c1};
    th_gradcheck_run(&g1);
    float wide[3 * 40];
    th_fill(wide, 120, 2, -1, 1);
    int32_t ids2[7] = {1, 1, 0, 1, 0, 1, 1};
    emb_ctx c2 = {ids2, 7};
    th_gradcheck g2 = {.name = "embedding [3,40] x 7 ids", .n_in = 1, .data = {wide}, .shape = {MTL_SHAPE(3, 40)},
                       .check = {1}, .forward = fw_embedding, .ctx = &c2, .max_elems = 120};
    th_gradcheck_run(&g2);
}

static void parity_embedding(void) {
    mtl_st_file *f = th_fixture("ops_embedding.safetensors");
    if (!f) return;
    static const char *names[] = {"table"};
    const char *cases[] = {"emb", "emb_wide", "emb_one"};
    for (int k = 0; k < 3; k++) {
        char key[64];
        snprintf(key, sizeof key, "%s.ids", cases[k]);
        int64_t n = 0;
        int32_t *ids = th_fixture_i32(f, key, &n);
        if (!ids) continue;
        emb_ctx c = {ids, (int)n};
        th_parity_case(f, cases[k], 1, names, fw_embedding, &c, 1e-6, 1e-6);
    }
}

/* gradients ADD into the rows used, other rows keep their values; ids are copied */
static void embedding_sparse_accumulation(void) {
    mtl_params *P;
    CHECK_OK(mtl_params_create(&P));
    mtl_tensor *w = mtl_param_add(P, "emb.weight", MTL_OWNER_SHARED, MTL_SHAPE(5, 3),
                                  (mtl_init){MTL_INIT_NORMAL, 0.0f, 1.0f});
    CHECK_OK(mtl_params_finalize(P, 3));
    float *grad = mtl_params_grad(P);
    for (int i = 0; i < 15; i++) grad[i] = 0.5f + i; /* earlier gradients must be kept */
    mtl_tape *t;
    CHECK_OK(mtl_tape_create(&t));
    int32_t ids[4] = {4, 1, 4, 4};
    mtl_tensor *y = mtl_embedding(t, w, ids, 4);
    CHECK(y != NULL, "%s", mtl_last_error());
    if (y) {
        CHECK(y->ndim == 2 && y->shape[0] == 4 && y->shape[1] == 3, "output shape");
        for (int i = 0; i < 4; i++) CHECK(memcmp(y->data + 3 * i, w->data + 3 * ids[i], 12) == 0, "row %d", i);
        ids[0] = 0, ids[1] = 2, ids[2] = 3, ids[3] = 0; /* the caller reuses its buffer */
        float dy[12];
        for (int i = 0; i < 12; i++) dy[i] = (float)(i + 1);
        CHECK_OK(mtl_backward_from(t, y, dy));
        for (int r = 0; r < 5; r++)
            for (int d = 0; d < 3; d++) {
                float want = 0.5f + (r * 3 + d);
                if (r == 1) want += dy[3 + d];
                if (r == 4) want += dy[d] + dy[6 + d] + dy[9 + d];
                CHECK(grad[r * 3 + d] == want, "grad[%d][%d] = %g, want %g", r, d, grad[r * 3 + d], want);
            }
    }
    mtl_tape_free(t);
    mtl_params_free(P);
}

/* the table gradient is the same bits with 1 and 2 threads and equals the serial sum */
static void embedding_threads(void) {
    enum { V = 50, D = 96, N = 4096 };
    int keep = mtl_get_threads();
    float *table = malloc(V * D * sizeof(float)), *dy = malloc((size_t)N * D * sizeof(float));
    int32_t *ids = malloc(N * sizeof *ids);
    th_fill(table, V * D, 5, -1, 1);
    th_fill(dy, (int64_t)N * D, 6, -1, 1);
    mtl_rng r;
    mtl_rng_init(&r, 7, 0);
    for (int i = 0; i < N; i++) ids[i] = (int32_t)mtl_rng_below(&r, V);
    float *ref = calloc(V * D, sizeof(float));
    for (int i = 0; i < N; i++)
        for (int d = 0; d < D; d++) ref[ids[i] * D + d] += dy[(size_t)i * D + d];
    for (int threads = 1; threads <= 2; threads++) {
        mtl_set_threads(threads);
        mtl_tape *t;
        CHECK_OK(mtl_tape_create(&t));
        mtl_tensor *T = mtl_tensor_wrap(t, MTL_SHAPE(V, D), table);
        mtl_tensor_requires_grad(T);
        mtl_tensor *y = mtl_embedding(t, T, ids, N);
        CHECK(y != NULL, "%s", mtl_last_error());
        if (y) {
            int bad = 0;
            for (int i = 0; i < N; i++) bad += memcmp(y->data + (size_t)i * D, table + ids[i] * D, D * 4) != 0;
            CHECK(bad == 0, "%d rows wrong with %d threads", bad, threads);
            CHECK_OK(mtl_backward_from(t, y, dy));
            CHECK(T->grad && memcmp(T->grad, ref, V * D * sizeof(float)) == 0,
                  "%d threads: gradient differs from the serial sum", threads);
        }
        mtl_tape_free(t);
    }
    mtl_set_threads(keep);
    free(table), free(dy), free(ids), free(ref);
}

static void embedding_empty(void) {
    mtl_tape *t;
    CHECK_OK(mtl_tape_create(&t));
    float table[6] = {1, 2, 3, 4, 5, 6};
    mtl_tensor *T = mtl_tensor_wrap(t, MTL_SHAPE(3, 2), table);
    mtl_tensor_requires_grad(T);
    mtl_tensor *y = mtl_embedding(t, T, NULL, 0);
    CHECK(y != NULL && y->size == 0 && y->shape[0] == 0 && y->shape[1] == 2, "n = 0: %s", mtl_tape_error(t));
    mtl_tape_free(t);
}

static void errors_embedding(void) {
    mtl_tape *t;
    CHECK_OK(mtl_tape_create(&t));
    float table[12] = {0};
    int32_t ids[3] = {0, 1, 2};
#define EXPECT(call, code, what)                                                                                     \
    do {                                                                                                             \
        mtl_tape_reset(t);                                                                                           \
        mtl_tensor *T = mtl_tensor_wrap(t, MTL_SHAPE(4, 3), table);                                                 \
        (void)T;                                                                                                     \
        CHECK((call) == NULL, "%s accepted", what);                                                                  \
        CHECK(mtl_tape_status(t) == (code), "%s: status %s, want %s", what, mtl_status_name(mtl_tape_status(t)),    \
              mtl_status_name(code));                                                                                \
        CHECK(strstr(mtl_tape_error(t), "embedding") != NULL, "%s: message '%s' does not name the op", what,         \
              mtl_tape_error(t));                                                                                    \
    } while (0)
    EXPECT(mtl_embedding(t, NULL, ids, 3), MTL_ERR_ARG, "NULL table");
    EXPECT(mtl_embedding(t, T, NULL, 3), MTL_ERR_ARG, "NULL ids");
    EXPECT(mtl_embedding(t, T, ids, -1), MTL_ERR_ARG, "n = -1");
    EXPECT(mtl_embedding(t, mtl_tensor_wrap(t, MTL_SHAPE(12), table), ids, 3), MTL_ERR_SHAPE, "1-d table");
    EXPECT(mtl_embedding(t, mtl_tensor_wrap(t, MTL_SHAPE(2, 2, 3), table), ids, 3), MTL_ERR_SHAPE, "3-d table");
    int32_t big[4] = {0, 3, 4, 1}, neg[2] = {1, -1};
    EXPECT(mtl_embedding(t, T, big, 4), MTL_ERR_RANGE, "id == V");
    /* names the position, the value and V */
    CHECK(strstr(mtl_tape_error(t), "ids[2]") && strstr(mtl_tape_error(t), "= 4") && strstr(mtl_tape_error(t), "4)"),
          "message '%s'", mtl_tape_error(t));
    EXPECT(mtl_embedding(t, T, neg, 2), MTL_ERR_RANGE, "id -1");
    CHECK(strstr(mtl_tape_error(t), "ids[1]") && strstr(mtl_tape_error(t), "-1"), "message '%s'", mtl_tape_error(t));
#undef EXPECT
    CHECK(mtl_embedding(NULL, NULL, ids, 3) == NULL, "NULL tape accepted");
    mtl_tape_free(t);
}

/* per-field lookup: one table per field (side by side) and one shared table (summed) */
typedef struct {
    const int32_t *ids;
    int n, fields;
    bool sum;
} fields_ctx;

static mtl_tensor *fw_fields(mtl_tape *t, mtl_tensor **in, void *ctx) {
    const fields_ctx *c = ctx;
    return mtl_embedding_fields(t, c->sum ? 1 : c->fields, in, c->ids, c->n, c->fields, c->sum);
}

static void embedding_fields(void) {
    float t0[4 * 3], t1[2 * 3], t2[5 * 3];
    th_fill(t0, 12, 11, -1, 1);
    th_fill(t1, 6, 12, -1, 1);
    th_fill(t2, 15, 13, -1, 1);
    int32_t ids[4 * 3] = {0, 1, 4, 3, 1, 4, 3, 0, 0, 2, 1, 2}; /* rows of (field0, field1, field2) */
    fields_ctx c = {ids, 4, 3, false};
    th_gradcheck g = {.name = "embedding_fields 3 tables", .n_in = 3, .data = {t0, t1, t2},
                      .shape = {MTL_SHAPE(4, 3), MTL_SHAPE(2, 3), MTL_SHAPE(5, 3)}, .check = {1, 1, 1},
                      .forward = fw_fields, .ctx = &c};
    CHECK(th_gradcheck_run(&g), "gradient check");
    fields_ctx cs = {ids, 4, 3, true};
    th_gradcheck gs = {.name = "embedding_fields summed", .n_in = 1, .data = {t2}, .shape = {MTL_SHAPE(5, 3)},
                       .check = {1}, .forward = fw_fields, .ctx = &cs};
    CHECK(th_gradcheck_run(&gs), "gradient check");
    /* values: row 1 of the side-by-side output is t0[3], t1[1], t2[4]; summed row 1 is t2[3]+t2[1]+t2[4] */
    mtl_tape *t;
    CHECK_OK(mtl_tape_create(&t));
    mtl_tensor *tabs[3] = {mtl_tensor_wrap(t, MTL_SHAPE(4, 3), t0), mtl_tensor_wrap(t, MTL_SHAPE(2, 3), t1),
                           mtl_tensor_wrap(t, MTL_SHAPE(5, 3), t2)};
    mtl_tensor *y = mtl_embedding_fields(t, 3, tabs, ids, 4, 3, false);
    mtl_tensor *z = mtl_embedding_fields(t, 1, &tabs[2], ids, 4, 3, true);
    CHECK(y && z && y->shape[1] == 9 && z->shape[1] == 3, "shapes: %s", mtl_tape_error(t));
    if (y && z)
        for (int d = 0; d < 3; d++) {
            CHECK(y->data[9 + d] == t0[9 + d] && y->data[9 + 3 + d] == t1[3 + d] && y->data[9 + 6 + d] == t2[12 + d], "row 1 element %d", d);
            CHECK_CLOSE(z->data[3 + d], t2[9 + d] + t2[3 + d] + t2[12 + d], 1e-6, 1e-6, "summed row 1");
        }
    int32_t bad[3] = {0, 2, 0}; /* field 1 has 2 rows */
    CHECK(!mtl_embedding_fields(t, 3, tabs, bad, 1, 3, false) && mtl_tape_status(t) == MTL_ERR_RANGE, "id out of range");
    mtl_tape_reset(t);
    CHECK(!mtl_embedding_fields(t, 2, tabs, ids, 4, 3, false) && mtl_tape_status(t) == MTL_ERR_ARG, "table count");
    mtl_tape_free(t);
}

int main(void) {
    RUN(gradcheck_embedding);
    RUN(embedding_fields);
    RUN(parity_embedding);
    RUN(embedding_sparse_accumulation);
    RUN(embedding_threads);
    RUN(embedding_empty);
    RUN(errors_embedding);
    return th_summary();
}
