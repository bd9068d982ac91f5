/* Constructors of the registered models (one file per model family). */
#ifndef MTL_MODELS_H
#define MTL_MODELS_H
#include "mtl/model.h"

mtl_status mtl_tiny_create(const mtl_model_config *cfg, mtl_model *m);
#endif
