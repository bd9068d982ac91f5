/* Checkpoints: round trip, PyTorch names and dtypes, and refusal of a wrong model; with
 * metadata (mtl_checkpoint_save/load): signal models, and tabular models with their sizes
 * and encoder. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "mtl/experiment.h"

static void checkpoint_round_trip(void) {
    char dir[] = "/tmp/mtl_ckpt_XXXXXX", path[64];
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    mtl_model_config cfg = {.n_tasks = 2, .n_classes = {4, 3}, .in_channels = 1, .length = 64};
    mtl_model *a = NULL, *b = NULL;
    CHECK_OK(mtl_model_create("tiny", &cfg, 1, &a));
    CHECK_OK(mtl_model_create("tiny", &cfg, 2, &b));
    if (!a || !b) return;
    mtl_params_find(a->params, "bn1.num_batches_tracked")->data[0] = 37;
    mtl_params_find(a->params, "bn1.running_var")->data[2] = 0.25f;
    const char *meta[] = {"model", "tiny"};
    CHECK_OK(mtl_params_save(a->params, path, 1, meta));
    CHECK(access(path, F_OK) == 0, "checkpoint not written");
    char tmp[80];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    CHECK(access(tmp, F_OK) != 0, "temporary file left behind");
    CHECK(memcmp(mtl_params_data(a->params), mtl_params_data(b->params), 16) != 0, "seeds gave equal weights");
    CHECK_OK(mtl_params_load(b->params, path));
    CHECK(memcmp(mtl_params_data(a->params), mtl_params_data(b->params),
                 (size_t)mtl_params_size(a->params) * sizeof(float)) == 0, "weights differ after loading");
    CHECK(mtl_params_find(b->params, "bn1.num_batches_tracked")->data[0] == 37, "counter lost");
    CHECK(mtl_params_find(b->params, "bn1.running_var")->data[2] == 0.25f, "buffer lost");
    /* the file speaks PyTorch: state_dict names, int64 counter, metadata */
    mtl_st_file *f = NULL;
    CHECK_OK(mtl_st_load(path, &f));
    const mtl_st_tensor *c = mtl_st_find(f, "bn1.num_batches_tracked");
    CHECK(c && c->dtype == MTL_DTYPE_I64 && c->ndim == 0, "num_batches_tracked is not a 0-d int64");
    const mtl_st_tensor *w = mtl_st_find(f, "conv2.weight");
    CHECK(w && w->dtype == MTL_DTYPE_F32 && w->ndim == 3 && w->shape[0] == 16 && w->shape[1] == 8 && w->shape[2] == 3,
          "conv2.weight shape");
    CHECK(mtl_st_find(f, "head.1.bias") && mtl_st_find(f, "eca.0.conv.weight"), "per-task names");
    CHECK(mtl_st_metadata(f, "model") && !strcmp(mtl_st_metadata(f, "model"), "tiny"), "metadata");
    CHECK(mtl_st_metadata(f, "format") && !strcmp(mtl_st_metadata(f, "format"), "mtl-checkpoint"), "format tag");
    mtl_st_free(f);
    /* a model of another size is refused, with the tensor named, and left unchanged */
    mtl_model_config other = cfg;
    other.width = 6;
    mtl_model *c6 = NULL;
    CHECK_OK(mtl_model_create("tiny", &other, 3, &c6));
    float before = mtl_params_data(c6->params)[0];
    CHECK(mtl_params_load(c6->params, path) == MTL_ERR_SHAPE, "wrong-size model accepted");
    CHECK(strstr(mtl_last_error(), "conv1.weight") != NULL, "message: %s", mtl_last_error());
    CHECK(mtl_params_data(c6->params)[0] == before, "a refused load changed the weights");
    /* a missing file and a directory that does not exist */
    CHECK(mtl_params_load(b->params, "/nonexistent/model.safetensors") == MTL_ERR_IO, "missing file");
    CHECK(strstr(mtl_last_error(), "/nonexistent/model.safetensors") != NULL, "message names the file");
    CHECK(mtl_params_save(a->params, "/nonexistent/dir/model.safetensors", 0, NULL) == MTL_ERR_IO, "bad directory");
    mtl_model_free(a);
    mtl_model_free(b);
    mtl_model_free(c6);
    remove(path);
    rmdir(dir);
}

/* a small tabular data set: 2 id fields (ids within the vocabularies) + 3 continuous */
static void tab_rows(mtl_dataset *d, int n, const int *vocab) {
    CHECK_OK(mtl_dataset_alloc(d, n, 1, 5, 2));
    if (!d->x) return;
    th_fill(d->x, (int64_t)n * 5, 7, -2.0f, 2.0f);
    for (int i = 0; i < n; i++) {
        d->x[i * 5 + 0] = (float)(i % vocab[0]);
        d->x[i * 5 + 1] = (float)((3 * i + 1) % vocab[1]);
        d->y[0][i] = i % 2, d->y[1][i] = (i / 2) % 2;
    }
    d->n_classes[0] = d->n_classes[1] = 2;
}

/* the same model back from the file: sizes, encoder text byte for byte, logits bit for bit */
static void tabular_round_trip_of(const char *kind) {
    char dir[] = "/tmp/mtl_ckpt_tab_XXXXXX", path[96];
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    /* non-default sizes everywhere, so that a size lost on the way shows as a shape error */
    mtl_model_config cfg = {.n_tasks = 2, .n_classes = {2, 2}, .in_channels = 1, .length = 5,
                            .tab = {.n_ids = 2, .n_cont = 3, .vocab = {5, 7}, .emb_dim = 3, .units = 6,
                                    .experts = 3, .shared_experts = 2, .task_experts = 1, .levels = 3,
                                    .n_tower = 1, .tower = {5}, .scaled_attention = true}};
    mtl_model *a = NULL, *b = NULL;
    CHECK_OK(mtl_model_create(kind, &cfg, 11, &a));
    if (!a) return;
    /* JSON quotes and backslashes, '%', a newline, a tab and UTF-8 must all survive the metadata */
    const char *enc = "{\"vocab\": [\"a\\\\b\", \"50%\", \"x\ny\tz\", \"\xC3\xA9t\xC3\xA9\"], \"n\": 2}";
    mtl_checkpoint_info info;
    memset(&info, 0, sizeof info);
    snprintf(info.model, sizeof info.model, "%s", kind);
    info.n_tasks = 2, info.n_classes[0] = info.n_classes[1] = 2;
    snprintf(info.task_names[0], MTL_TASK_NAME_MAX, "income");
    snprintf(info.task_names[1], MTL_TASK_NAME_MAX, "never_married");
    info.channels = 1, info.length = 5, info.window = info.stride = 5;
    info.tab = a->cfg.tab;
    info.encoder = (char *)enc;
    CHECK_OK(mtl_checkpoint_save(a, &info, path));
    mtl_checkpoint_info got;
    CHECK_OK(mtl_checkpoint_load(path, &b, &got));
    if (b) {
        CHECK(!strcmp(b->kind, kind) && !strcmp(got.model, kind), "kind %s", b->kind);
        CHECK(got.encoder && !strcmp(got.encoder, enc), "encoder text changed: %s",
              got.encoder ? got.encoder : "(null)");
        const mtl_tab_model_config *t = &got.tab, *w = &a->cfg.tab;
        CHECK(t->n_ids == 2 && t->n_cont == 3 && t->vocab[0] == 5 && t->vocab[1] == 7 && t->emb_dim == 3 &&
              t->units == 6 && t->experts == 3 && t->shared_experts == 2 && t->task_experts == 1 && t->levels == 3 &&
              t->n_tower == 1 && t->tower[0] == 5 && t->scaled_attention && t->hash_buckets == 0,
              "tab sizes not restored");
        CHECK(!memcmp(&b->cfg.tab, w, sizeof *w), "the loaded model's sizes differ from the saved one's");
        CHECK(b->cfg.in_channels == 1 && b->cfg.length == 5 && got.length == 5, "input shape");
        CHECK(mtl_params_size(a->params) == mtl_params_size(b->params) &&
              !memcmp(mtl_params_data(a->params), mtl_params_data(b->params),
                      (size_t)mtl_params_size(a->params) * sizeof(float)), "parameters differ");
        mtl_dataset d;
        memset(&d, 0, sizeof d);
        tab_rows(&d, 37, cfg.tab.vocab);
        mtl_predictions pa, pb;
        CHECK_OK(mtl_predict(a, &d, 16, false, &pa));
        CHECK_OK(mtl_predict(b, &d, 16, false, &pb));
        for (int k = 0; k < 2; k++)
            CHECK(pa.logits[k] && pb.logits[k] && !memcmp(pa.logits[k], pb.logits[k], 37 * 2 * sizeof(float)),
                  "task %d: logits differ after the round trip", k);
        mtl_predictions_free(&pa), mtl_predictions_free(&pb);
        mtl_dataset_free(&d);
    }
    mtl_checkpoint_info_free(&got);
    CHECK(got.encoder == NULL, "info_free leaves a dangling encoder");
    mtl_checkpoint_info_free(&got); /* twice is harmless */
    mtl_model_free(a);
    mtl_model_free(b);
    remove(path);
    rmdir(dir);
}

static void tabular_round_trip(void) {
    static const char *const kinds[] = {"shared-bottom", "mmoe", "ple", "coamtl"};
    for (int i = 0; i < 4; i++) {
        const mtl_model_kind *k = mtl_model_kind_find(kinds[i]);
        CHECK(k != NULL, "model %s is not registered", kinds[i]);
        if (k) tabular_round_trip_of(kinds[i]);
    }
}

/* a signal checkpoint has no tabular keys: it loads as before, with no encoder */
static void signal_checkpoint_metadata(void) {
    char dir[] = "/tmp/mtl_ckpt_sig_XXXXXX", path[96];
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    mtl_model_config cfg = {.n_tasks = 2, .n_classes = {4, 3}, .in_channels = 1, .length = 64};
    mtl_model *a = NULL, *b = NULL;
    CHECK_OK(mtl_model_create("tiny", &cfg, 1, &a));
    if (!a) return;
    mtl_checkpoint_info info;
    memset(&info, 0, sizeof info);
    snprintf(info.model, sizeof info.model, "tiny");
    info.n_tasks = 2, info.n_classes[0] = 4, info.n_classes[1] = 3;
    info.channels = 1, info.length = 64, info.window = 64, info.stride = 32, info.norm = MTL_NORM_ZSCORE;
    CHECK_OK(mtl_checkpoint_save(a, &info, path));
    mtl_st_file *f = NULL;
    CHECK_OK(mtl_st_load(path, &f));
    CHECK(f && !mtl_st_metadata(f, "mtl.tab") && !mtl_st_metadata(f, "mtl.encoder"), "tabular keys in a signal file");
    mtl_st_free(f);
    mtl_checkpoint_info got;
    CHECK_OK(mtl_checkpoint_load(path, &b, &got));
    CHECK(b && got.encoder == NULL && got.tab.n_ids == 0 && got.tab.n_cont == 0, "signal checkpoint read as tabular");
    CHECK(got.stride == 32 && got.norm == MTL_NORM_ZSCORE, "pipeline metadata");
    mtl_checkpoint_info_free(&got);
    mtl_model_free(a);
    mtl_model_free(b);
    remove(path);
    rmdir(dir);
}

/* a damaged mtl.tab is refused with the key named, and leaves nothing allocated */
static void tabular_bad_metadata(void) {
    char dir[] = "/tmp/mtl_ckpt_bad_XXXXXX", path[96];
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    mtl_model_config cfg = {.n_tasks = 2, .n_classes = {2, 2}, .in_channels = 1, .length = 5,
                            .tab = {.n_ids = 2, .n_cont = 3, .vocab = {5, 7}}};
    mtl_model *a = NULL, *b = NULL;
    CHECK_OK(mtl_model_create("mmoe", &cfg, 1, &a));
    if (!a) return;
    static const char *const bad[] = {
        "n_ids=2;n_cont=3;vocab=5;tower=64,32;n_tower=2",          /* one vocabulary for two ids */
        "n_ids=2;n_cont=3;vocab=5,x;tower=64,32;n_tower=2",        /* not a number */
        "n_ids=2;vocab=5,7;tower=64,32;n_tower=2",                 /* no n_cont */
        "n_ids=2;n_cont=3;vocab=5,7;tower=64,32;n_tower=2;units",  /* not key=value */
        "n_ids=2;n_cont=4;vocab=5,7;tower=64,32;n_tower=2",        /* 6 inputs, mtl.length 5 */
    };
    for (int i = 0; i < 5; i++) {
        const char *meta[] = {"mtl.model", "mmoe", "mtl.tasks", "a,b", "mtl.classes", "2,2", "mtl.channels", "1",
                              "mtl.length", "5", "mtl.tab", bad[i], "mtl.encoder", "{}"};
        CHECK_OK(mtl_params_save(a->params, path, 7, meta));
        mtl_checkpoint_info got;
        mtl_status s = mtl_checkpoint_load(path, &b, &got);
        CHECK(s == MTL_ERR_FORMAT && b == NULL, "bad mtl.tab %d accepted (status %d)", i, (int)s);
        CHECK(strstr(mtl_last_error(), "mtl.tab") && strstr(mtl_last_error(), path), "message: %s", mtl_last_error());
        CHECK(got.encoder == NULL, "encoder left allocated after a failed load");
        mtl_model_free(b);
        b = NULL;
    }
    mtl_model_free(a);
    remove(path);
    rmdir(dir);
}

int main(void) {
    RUN(checkpoint_round_trip);
    RUN(tabular_round_trip);
    RUN(signal_checkpoint_metadata);
    RUN(tabular_bad_metadata);
    return th_summary();
}
