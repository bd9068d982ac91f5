/* Checkpoints: round trip, PyTorch names and dtypes, and refusal of a wrong model. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

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

int main(void) {
    RUN(checkpoint_round_trip);
    return th_summary();
}
