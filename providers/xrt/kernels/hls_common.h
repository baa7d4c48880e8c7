/*
 * hls_common.h — helpers shared by the HLS kernel sources; not part of the
 * host contract (that is prism_hls.h).
 *
 * Everything here is header-only and synthesisable: the same text is read
 * by Vitis HLS and by gcc/clang when the kernels are compiled into the
 * provider for the csim device. No state, so the kernels are reentrant on
 * the host: two threads may call any kernel at the same time.
 */
#ifndef PRISM_HLS_COMMON_H
#define PRISM_HLS_COMMON_H

#include "prism_hls.h"

/* `#pragma HLS ...` is meaningful to Vitis HLS only, and loop labels only
 * name loops in its synthesis reports; a host compiler would warn about
 * every one of them under -Wall. */
#if defined(__GNUC__) && !defined(__SYNTHESIS__)
#pragma GCC diagnostic ignored "-Wunknown-pragmas"
#pragma GCC diagnostic ignored "-Wunused-label"
#endif

/* Element offsets: products of int extents do not fit in an int. */
typedef long long hls_index;

/* Elements moved per burst between DDR and an on-chip chunk buffer by the
 * streaming kernels (eltwise, im2col, pool output rows). */
#define PRISM_HLS_CHUNK 1024

/* The fused activation of prism_hls.h (PRISM_HLS_ACT_*) applied to one
 * value. An unknown code leaves the value unchanged. */
static inline float prism_hls_activate(float v, int act, float lo, float hi) {
    if (act == PRISM_HLS_ACT_RELU) return v < 0.0f ? 0.0f : v;
    if (act == PRISM_HLS_ACT_CLIP) return v < lo ? lo : (v > hi ? hi : v);
    return v;
}

#endif /* PRISM_HLS_COMMON_H */
