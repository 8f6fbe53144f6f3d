/* wb_f32_im2row_ukernel_kxk__scalar: fp32 im2row patch packing (wb_im2row.h). */
#define WB_T float
#define WB_FN wb_f32_im2row_ukernel_kxk__scalar
#include "im2row-kxk-scalar.inc"
