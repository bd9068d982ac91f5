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
#endif
