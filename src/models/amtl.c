/* Tabular AMTL and Co-AMTL (being written). */
#include "models/models.h"
#include "models/tabular.h"

static mtl_status todo(const char *k) { return mtl_error(MTL_ERR_STATE, "model %s is not implemented yet", k); }
mtl_status mtl_amtl_create(const mtl_model_config *cfg, mtl_model *m) { return todo("amtl"); }
mtl_status mtl_coamtl_create(const mtl_model_config *cfg, mtl_model *m) { return todo("coamtl"); }
