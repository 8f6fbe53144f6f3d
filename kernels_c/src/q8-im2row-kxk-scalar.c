/* wb_q8_im2row_ukernel_kxk__scalar: int8 im2row patch packing (wb_im2row.h). */
#define WB_T int8_t
#define WB_FN wb_q8_im2row_ukernel_kxk__scalar
#include "im2row-kxk-scalar.inc"
