/* Checkpoints: an mtl_params to and from safetensors under PyTorch state_dict names. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mtl/io.h"
#include "mtl/nn.h"

static bool is_counter(const char *name) {
    size_t n = strlen(name), k = strlen("num_batches_tracked");
    return n >= k && strcmp(name + n - k, "num_batches_tracked") == 0;
}

mtl_status mtl_params_save(const mtl_params *P, const char *path, int n_meta, const char *const *meta) {
    if (!P || !path || (n_meta > 0 && !meta)) return mtl_error(MTL_ERR_ARG, "params_save: null argument");
    if (!mtl_params_finalized(P)) return mtl_error(MTL_ERR_STATE, "params_save: parameters not finalized");
    mtl_st_writer *w = NULL;
    mtl_status s = mtl_st_writer_create(&w);
    for (int i = 0; i < n_meta && !s; i++) s = mtl_st_writer_meta(w, meta[2 * i], meta[2 * i + 1]);
    if (!s) s = mtl_st_writer_meta(w, "format", "mtl-checkpoint");
    if (!s) s = mtl_st_writer_meta(w, "version", "1");
    for (int i = 0; i < mtl_params_count(P) && !s; i++) {
        const mtl_param_info *pi = mtl_params_info(P, i);
        const mtl_tensor *x = pi->tensor;
        int64_t shape[MTL_MAX_DIMS];
        for (int d = 0; d < x->ndim; d++) shape[d] = x->shape[d];
        if (is_counter(pi->name)) { /* PyTorch keeps this count as int64 (shape []) */
            int64_t v = (int64_t)llround(x->data[0]);
            s = mtl_st_writer_add(w, pi->name, MTL_DTYPE_I64, 0, NULL, &v);
        } else {
            s = mtl_st_writer_add(w, pi->name, MTL_DTYPE_F32, x->ndim, shape, x->data);
        }
    }
    if (!s) s = mtl_st_writer_save(w, path);
    mtl_st_writer_free(w);
    return s;
}

mtl_status mtl_params_load(mtl_params *P, const char *path) {
    if (!P || !path) return mtl_error(MTL_ERR_ARG, "params_load: null argument");
    if (!mtl_params_finalized(P)) return mtl_error(MTL_ERR_STATE, "params_load: parameters not finalized");
    mtl_st_file *f = NULL;
    mtl_status s = mtl_st_load(path, &f);
    if (s) return s;
    /* check everything before changing anything */
    for (int i = 0; i < mtl_params_count(P) && !s; i++) {
        const mtl_param_info *pi = mtl_params_info(P, i);
        const mtl_st_tensor *t = mtl_st_find(f, pi->name);
        if (!t) {
            s = mtl_error(MTL_ERR_FORMAT, "%s: no tensor '%s' (is it a checkpoint of this model?)", path, pi->name);
            break;
        }
        if (t->count != pi->tensor->size) {
            s = mtl_error(MTL_ERR_SHAPE, "%s: tensor '%s' has %lld values, the model expects %lld", path, pi->name,
                          (long long)t->count, (long long)pi->tensor->size);
            break;
        }
    }
    for (int i = 0; i < mtl_params_count(P) && !s; i++) {
        const mtl_param_info *pi = mtl_params_info(P, i);
        s = mtl_st_read_f32(f, pi->name, pi->tensor->data, pi->tensor->size);
        if (!s && pi->trainable) s = mtl_check_finite(pi->tensor->data, pi->tensor->size, pi->name);
    }
    mtl_st_free(f);
    return s;
}
