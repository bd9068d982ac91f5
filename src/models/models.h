/* Constructors of the registered models (one file per model family). */
#ifndef MTL_MODELS_H
#define MTL_MODELS_H
#include "mtl/model.h"

mtl_status mtl_tiny_create(const mtl_model_config *cfg, mtl_model *m);
/* mtagn.c */
mtl_status mtl_mtagn_create(const mtl_model_config *cfg, mtl_model *m);
mtl_status mtl_stan_create(const mtl_model_config *cfg, mtl_model *m);
/* cnn1d.c */
mtl_status mtl_mt1dcnn_create(const mtl_model_config *cfg, mtl_model *m);
mtl_status mtl_jlcnn_create(const mtl_model_config *cfg, mtl_model *m);
mtl_status mtl_wdcnn_create(const mtl_model_config *cfg, mtl_model *m);
/* tabular models (specs/tabular.md); shared pieces in models/tabular.h */
/* moe.c */
mtl_status mtl_single_tab_create(const mtl_model_config *cfg, mtl_model *m);
mtl_status mtl_shared_bottom_create(const mtl_model_config *cfg, mtl_model *m);
mtl_status mtl_omoe_create(const mtl_model_config *cfg, mtl_model *m);
mtl_status mtl_mmoe_create(const mtl_model_config *cfg, mtl_model *m);
mtl_status mtl_cgc_create(const mtl_model_config *cfg, mtl_model *m);
mtl_status mtl_ple_create(const mtl_model_config *cfg, mtl_model *m);
/* amtl.c */
mtl_status mtl_amtl_create(const mtl_model_config *cfg, mtl_model *m);
mtl_status mtl_coamtl_create(const mtl_model_config *cfg, mtl_model *m);
#endif
