/* Tabular single-task, Shared-Bottom, OMoE, MMoE, CGC and PLE (being written). */
#include "models/models.h"
#include "models/tabular.h"

static mtl_status todo(const char *k) { return mtl_error(MTL_ERR_STATE, "model %s is not implemented yet", k); }
mtl_status mtl_single_tab_create(const mtl_model_config *cfg, mtl_model *m) { return todo("single"); }
mtl_status mtl_shared_bottom_create(const mtl_model_config *cfg, mtl_model *m) { return todo("shared-bottom"); }
mtl_status mtl_omoe_create(const mtl_model_config *cfg, mtl_model *m) { return todo("omoe"); }
mtl_status mtl_mmoe_create(const mtl_model_config *cfg, mtl_model *m) { return todo("mmoe"); }
mtl_status mtl_cgc_create(const mtl_model_config *cfg, mtl_model *m) { return todo("cgc"); }
mtl_status mtl_ple_create(const mtl_model_config *cfg, mtl_model *m) { return todo("ple"); }
