/* placeholder until the edifact codec lands; replaced by its implementation */
#include "codec.h"
const codec_ops codec_edifact_ops = {"edifact", NULL, NULL, NULL};
