/*
 * batchnorm.cl — BatchNormalization in inference mode:
 * y = (x - mean[c]) / sqrt(var[c] + eps) * scale[c] + bias[c], on N C rest.
 */
#ifdef PRISM_FP16
#pragma OPENCL EXTENSION cl_khr_fp16 : enable
#endif

__kernel void batchnorm(const __global T *X, const __global T *scale, const __global T *bias,
                        const __global T *mean, const __global T *var, __global T *Y, int C, long S, float eps) {
    const long i = get_global_id(0);
    const int c = get_global_id(1), n = get_global_id(2);
    if (i >= S || c >= C) return;
    const long at = ((long)n * C + c) * S + i;
    float inv = rsqrt((float)var[c] + eps);
    Y[at] = (T)(((float)X[at] - (float)mean[c]) * inv * (float)scale[c] + (float)bias[c]);
}
