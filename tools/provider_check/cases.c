/*
 * cases.c — the kit's case table: one row per case, one single-node model
 * each. Adding a case (or an op) is adding a row; nothing else changes.
 *
 *   {OP, DESCRIPTION, INPUTS, ATTRIBUTES, OUTPUTS, OPSET}
 *
 * INPUTS lists the node's inputs in order, separated by spaces:
 *   NAME:TYPE[D0,D1,...]   a graph input ("[]": a scalar); TYPE is f32, f64,
 *                          i64, i32, i8, u8 or bool
 *   ...:const              an initializer (a constant) instead of an input
 *   ...:dyn                declared with symbolic dims (a dynamic shape)
 *   ...:LO..HI             values uniform in [LO, HI] (integers: inclusive);
 *                          default -2..2 for floats, 0..9 for integers
 *   ...:+-LO..HI           magnitude in [LO, HI] with a random sign (keeps
 *                          divisors away from zero)
 *   ...:{v,v,...}          these values (one per element)
 *   _                      an omitted optional input
 * ATTRIBUTES: NAME=VALUE separated by spaces; 3 is an int, 0.5 a float (a
 *   float needs a '.' or an exponent: 2.0, not 2), [1,2] ints, [0.5,1.0]
 *   floats, a word (SAME_UPPER) a string. NULL for none.
 * OUTPUTS: NAME:TYPE separated by spaces (their shapes are inferred).
 * OPSET: the ai.onnx opset of the model; 0 means PC_DEFAULT_OPSET (17).
 *
 * Choose shapes and attributes that providers commonly claim, vary whether
 * constants are initializers or graph inputs (providers treat them
 * differently), and keep value ranges inside each op's domain (positive for
 * Log and Sqrt, divisors away from zero) so the comparison is meaningful.
 */
#include "check.h"

/* The same unary op over 1-D to 4-D shapes (the 4-D one with dynamic dims). */
#define UNARY4(op, range)                                                                                      \
    {op, "1-D [17]", "X:f32[17]:" range, NULL, "Y:f32", 0},                                                   \
    {op, "2-D [3,5]", "X:f32[3,5]:" range, NULL, "Y:f32", 0},                                                 \
    {op, "3-D [2,3,4]", "X:f32[2,3,4]:" range, NULL, "Y:f32", 0},                                             \
    {op, "4-D [2,3,4,5] dynamic dims", "X:f32[2,3,4,5]:dyn:" range, NULL, "Y:f32", 0}
#define UNARY2(op, range, opset)                                                                               \
    {op, "1-D [33]", "X:f32[33]:" range, NULL, "Y:f32", opset},                                               \
    {op, "4-D [1,3,4,5]", "X:f32[1,3,4,5]:" range, NULL, "Y:f32", opset}

/* A binary elementwise op: same shapes and multidirectional broadcasting. */
#define BINARY(op, ra, rb)                                                                                     \
    {op, "same shape [3,4]", "A:f32[3,4]:" ra " B:f32[3,4]:" rb, NULL, "C:f32", 0},                             \
    {op, "scalar B: [2,3], []", "A:f32[2,3]:" ra " B:f32[]:" rb, NULL, "C:f32", 0},                            \
    {op, "scalar A: [], [2,3]", "A:f32[]:" ra " B:f32[2,3]:" rb, NULL, "C:f32", 0},                            \
    {op, "row: [2,3,4], [4]", "A:f32[2,3,4]:" ra " B:f32[4]:" rb, NULL, "C:f32", 0},                           \
    {op, "column: [3,4], [3,1]", "A:f32[3,4]:" ra " B:f32[3,1]:" rb, NULL, "C:f32", 0},                        \
    {op, "both broadcast: [3,1], [1,4]", "A:f32[3,1]:" ra " B:f32[1,4]:" rb, NULL, "C:f32", 0},                \
    {op, "4-D with 1-D: [2,3,4,5], [5]", "A:f32[2,3,4,5]:" ra " B:f32[5]:" rb, NULL, "C:f32", 0},                 \
    {op, "per-channel constant: [2,3,4,5], [1,3,1,1]", "A:f32[2,3,4,5]:" ra " B:f32[1,3,1,1]:const:" rb, NULL, \
     "C:f32", 0}

const pc_case pc_cases[] = {
    /* ---- elementwise unary ---- */
    UNARY4("Relu", "-4..4"),
    UNARY4("Sigmoid", "-6..6"),
    UNARY4("Tanh", "-4..4"),
    UNARY4("Exp", "-4..4"),
    UNARY4("Log", "0.05..20"),
    UNARY4("Sqrt", "0..20"),
    UNARY4("Abs", "-4..4"),
    UNARY4("Neg", "-4..4"),
    UNARY4("Erf", "-3..3"),
    UNARY2("Reciprocal", "+-0.25..4", 0),
    UNARY2("Floor", "-4..4", 0),
    UNARY2("Ceil", "-4..4", 0),
    UNARY2("Sin", "-4..4", 0),
    UNARY2("Cos", "-4..4", 0),
    UNARY2("Softplus", "-6..6", 0),
    UNARY2("Softsign", "-6..6", 0),
    UNARY2("Sign", "-4..4", 0),
    UNARY2("HardSwish", "-5..5", 0),
    UNARY2("Identity", "-4..4", 0),
    {"LeakyRelu", "default alpha 3-D [2,3,4]", "X:f32[2,3,4]:-4..4", NULL, "Y:f32", 0},
    {"LeakyRelu", "alpha 0.2 4-D [1,8,5,5]", "X:f32[1,8,5,5]:-4..4", "alpha=0.2", "Y:f32", 0},
    {"Elu", "alpha 0.5", "X:f32[4,6]:-4..4", "alpha=0.5", "Y:f32", 0},
    {"Selu", "default alpha, gamma", "X:f32[4,6]:-4..4", NULL, "Y:f32", 0},
    {"HardSigmoid", "alpha 0.3 beta 0.4", "X:f32[4,6]:-4..4", "alpha=0.3 beta=0.4", "Y:f32", 0},
    {"Gelu", "exact", "X:f32[2,16]:-4..4", NULL, "Y:f32", 20},
    {"Gelu", "tanh approximation", "X:f32[2,16]:-4..4", "approximate=tanh", "Y:f32", 20},
    {"Clip", "no bounds", "X:f32[3,5]:-4..4", NULL, "Y:f32", 0},
    {"Clip", "min and max constant (ReLU6)", "X:f32[1,4,5,5]:-8..8 min:f32[]:const:{0} max:f32[]:const:{6}", NULL,
     "Y:f32", 0},
    {"Clip", "min and max as graph inputs", "X:f32[2,3,4]:-4..4 min:f32[]:{-1.5} max:f32[]:{2.5}", NULL, "Y:f32", 0},
    {"Clip", "min only", "X:f32[17]:-4..4 min:f32[]:const:{-0.5}", NULL, "Y:f32", 0},
    {"Clip", "max only (min omitted)", "X:f32[17]:-4..4 _ max:f32[]:const:{0.5}", NULL, "Y:f32", 0},
    {"Clip", "opset 6 min/max attributes", "X:f32[3,5]:-4..4", "min=-1.0 max=1.0", "Y:f32", 6},

    /* ---- elementwise binary ---- */
    BINARY("Add", "-4..4", "-4..4"),
    BINARY("Sub", "-4..4", "-4..4"),
    BINARY("Mul", "-4..4", "-4..4"),
    BINARY("Div", "-4..4", "+-0.5..4"),
    BINARY("Pow", "0.5..2", "-2..2"),
    BINARY("Max", "-4..4", "-4..4"),
    BINARY("Min", "-4..4", "-4..4"),
    {"PRelu", "per-channel slope: [2,3,4,5], [3,1,1]", "X:f32[2,3,4,5]:-4..4 slope:f32[3,1,1]:const:0..1", NULL,
     "Y:f32", 0},
    {"PRelu", "single slope as graph input", "X:f32[4,6]:-4..4 slope:f32[1]:0..1", NULL, "Y:f32", 0},
    {"Sum", "three inputs with broadcasting", "A:f32[2,3,4] B:f32[3,4] C:f32[4]", NULL, "S:f32", 0},
    {"Mean", "two inputs", "A:f32[3,5] B:f32[3,5]", NULL, "M:f32", 0},
    {"Equal", "int64 same shape", "A:i64[3,4]:0..3 B:i64[3,4]:0..3", NULL, "C:bool", 0},
    {"Equal", "int64 row broadcast", "A:i64[2,3,4]:0..2 B:i64[4]:0..2", NULL, "C:bool", 0},
    {"Greater", "float row broadcast", "A:f32[2,3,4] B:f32[4]", NULL, "C:bool", 0},
    {"Less", "float scalar", "A:f32[3,5] B:f32[]", NULL, "C:bool", 0},
    {"Not", "bool [3,5]", "X:bool[3,5]", NULL, "Y:bool", 0},
    {"And", "bool broadcast", "A:bool[3,4] B:bool[4]", NULL, "C:bool", 0},
    {"Where", "same shape", "cond:bool[3,4] X:f32[3,4] Y:f32[3,4]", NULL, "Z:f32", 0},
    {"Where", "broadcast condition and scalar", "cond:bool[4] X:f32[3,4] Y:f32[]", NULL, "Z:f32", 0},

    /* ---- matrix products ---- */
    {"MatMul", "2-D [3,4] x [4,5]", "A:f32[3,4] B:f32[4,5]", NULL, "Y:f32", 0},
    {"MatMul", "2-D [16,32] x [32,24] constant B", "A:f32[16,32] B:f32[32,24]:const", NULL, "Y:f32", 0},
    {"MatMul", "batched 3-D [2,3,4] x [2,4,5]", "A:f32[2,3,4] B:f32[2,4,5]", NULL, "Y:f32", 0},
    {"MatMul", "broadcast batch [2,3,4] x [4,5]", "A:f32[2,3,4] B:f32[4,5]", NULL, "Y:f32", 0},
    {"MatMul", "broadcast batch 4-D [2,1,3,4] x [3,4,5]", "A:f32[2,1,3,4] B:f32[3,4,5]", NULL, "Y:f32", 0},
    {"MatMul", "1-D x 2-D [4] x [4,5]", "A:f32[4] B:f32[4,5]", NULL, "Y:f32", 0},
    {"MatMul", "2-D x 1-D [3,4] x [4]", "A:f32[3,4] B:f32[4]", NULL, "Y:f32", 0},
    {"MatMul", "dynamic dims [5,7] x [7,3]", "A:f32[5,7]:dyn B:f32[7,3]:dyn", NULL, "Y:f32", 0},
    {"Gemm", "no C", "A:f32[3,4] B:f32[4,5]", NULL, "Y:f32", 0},
    {"Gemm", "transA", "A:f32[4,3] B:f32[4,5] C:f32[3,5]", "transA=1", "Y:f32", 0},
    {"Gemm", "transB", "A:f32[3,4] B:f32[5,4] C:f32[3,5]", "transB=1", "Y:f32", 0},
    {"Gemm", "transA and transB", "A:f32[4,3] B:f32[5,4] C:f32[3,5]", "transA=1 transB=1", "Y:f32", 0},
    {"Gemm", "alpha 0.5 beta 2.0, full C", "A:f32[3,4] B:f32[4,5] C:f32[3,5]", "alpha=0.5 beta=2.0", "Y:f32", 0},
    {"Gemm", "C row [5]", "A:f32[3,4] B:f32[4,5] C:f32[5]", NULL, "Y:f32", 0},
    {"Gemm", "C column [3,1]", "A:f32[3,4] B:f32[4,5] C:f32[3,1]", NULL, "Y:f32", 0},
    {"Gemm", "C scalar", "A:f32[3,4] B:f32[4,5] C:f32[]", "beta=0.5", "Y:f32", 0},
    {"Gemm", "fully connected: constant B^T and bias", "A:f32[2,64] B:f32[10,64]:const C:f32[10]:const",
     "transB=1", "Y:f32", 0},

    /* ---- convolution ---- */
    {"Conv", "1x1 with bias", "X:f32[1,4,6,6] W:f32[8,4,1,1]:const B:f32[8]:const", NULL, "Y:f32", 0},
    {"Conv", "3x3 pad 1 no bias", "X:f32[1,3,8,8] W:f32[4,3,3,3]:const", "pads=[1,1,1,1]", "Y:f32", 0},
    {"Conv", "3x3 stride 2 pad 1 with bias", "X:f32[1,3,9,9] W:f32[4,3,3,3]:const B:f32[4]:const",
     "strides=[2,2] pads=[1,1,1,1]", "Y:f32", 0},
    {"Conv", "3x3 dilation 2", "X:f32[1,2,9,9] W:f32[3,2,3,3]:const", "dilations=[2,2]", "Y:f32", 0},
    {"Conv", "group 2", "X:f32[1,4,6,6] W:f32[6,2,3,3]:const B:f32[6]:const", "group=2", "Y:f32", 0},
    {"Conv", "depthwise 3x3 pad 1", "X:f32[1,4,6,6] W:f32[4,1,3,3]:const B:f32[4]:const",
     "group=4 pads=[1,1,1,1]", "Y:f32", 0},
    {"Conv", "auto_pad SAME_UPPER stride 2", "X:f32[1,3,7,7] W:f32[4,3,3,3]:const",
     "auto_pad=SAME_UPPER strides=[2,2]", "Y:f32", 0},
    {"Conv", "auto_pad SAME_LOWER 2x2", "X:f32[1,2,5,5] W:f32[2,2,2,2]:const", "auto_pad=SAME_LOWER", "Y:f32", 0},
    {"Conv", "non-square 3x1 kernel, 5x7 input, asymmetric pads", "X:f32[1,2,5,7] W:f32[3,2,3,1]:const",
     "pads=[1,0,0,0]", "Y:f32", 0},
    {"Conv", "weights and bias as graph inputs", "X:f32[1,3,6,6] W:f32[4,3,3,3] B:f32[4]", "pads=[1,1,1,1]",
     "Y:f32", 0},
    {"Conv", "batch 2 with kernel_shape", "X:f32[2,3,6,6] W:f32[5,3,3,3]:const B:f32[5]:const",
     "kernel_shape=[3,3]", "Y:f32", 0},
    {"Conv", "1-D", "X:f32[1,3,12] W:f32[4,3,3]:const B:f32[4]:const", "pads=[1,1]", "Y:f32", 0},
    {"ConvTranspose", "3x3 stride 2", "X:f32[1,4,5,5] W:f32[4,2,3,3]:const", "strides=[2,2]", "Y:f32", 0},
    {"ConvTranspose", "stride 2 pad 1 output_padding 1, bias",
     "X:f32[1,3,4,4] W:f32[3,2,3,3]:const B:f32[2]:const", "strides=[2,2] pads=[1,1,1,1] output_padding=[1,1]",
     "Y:f32", 0},

    /* ---- pooling ---- */
    {"MaxPool", "2x2 stride 2", "X:f32[1,3,8,8]", "kernel_shape=[2,2] strides=[2,2]", "Y:f32", 0},
    {"MaxPool", "3x3 stride 1 pad 1", "X:f32[1,3,6,6]", "kernel_shape=[3,3] pads=[1,1,1,1]", "Y:f32", 0},
    {"MaxPool", "3x3 stride 2 pad 1", "X:f32[2,2,9,9]", "kernel_shape=[3,3] strides=[2,2] pads=[1,1,1,1]", "Y:f32",
     0},
    {"MaxPool", "3x3 stride 2 ceil_mode", "X:f32[1,2,8,8]", "kernel_shape=[3,3] strides=[2,2] ceil_mode=1", "Y:f32",
     0},
    {"MaxPool", "2x2 dilation 2", "X:f32[1,2,7,7]", "kernel_shape=[2,2] dilations=[2,2]", "Y:f32", 0},
    {"AveragePool", "2x2 stride 2", "X:f32[1,3,8,8]", "kernel_shape=[2,2] strides=[2,2]", "Y:f32", 0},
    {"AveragePool", "3x3 pad 1 count_include_pad 0", "X:f32[1,3,6,6]", "kernel_shape=[3,3] pads=[1,1,1,1]",
     "Y:f32", 0},
    {"AveragePool", "3x3 pad 1 count_include_pad 1", "X:f32[1,3,6,6]",
     "kernel_shape=[3,3] pads=[1,1,1,1] count_include_pad=1", "Y:f32", 0},
    {"AveragePool", "3x3 stride 2 pad 1 non-square input", "X:f32[1,2,7,9]",
     "kernel_shape=[3,3] strides=[2,2] pads=[1,1,1,1]", "Y:f32", 0},
    {"AveragePool", "2x2 stride 2 ceil_mode", "X:f32[1,2,7,7]", "kernel_shape=[2,2] strides=[2,2] ceil_mode=1",
     "Y:f32", 0},
    {"GlobalAveragePool", "[1,3,5,5]", "X:f32[1,3,5,5]", NULL, "Y:f32", 0},
    {"GlobalAveragePool", "[2,8,7,7]", "X:f32[2,8,7,7]", NULL, "Y:f32", 0},
    {"GlobalMaxPool", "[2,4,5,6]", "X:f32[2,4,5,6]", NULL, "Y:f32", 0},

    /* ---- normalisation, softmax ---- */
    {"BatchNormalization", "4-D, constant parameters",
     "X:f32[2,3,4,5] scale:f32[3]:const B:f32[3]:const mean:f32[3]:const var:f32[3]:const:0.5..2", NULL, "Y:f32",
     15},
    {"BatchNormalization", "2-D, epsilon 1e-3", "X:f32[4,6] scale:f32[6]:const B:f32[6]:const mean:f32[6]:const "
     "var:f32[6]:const:0.5..2", "epsilon=1e-3", "Y:f32", 15},
    {"BatchNormalization", "parameters as graph inputs",
     "X:f32[1,4,3,3] scale:f32[4] B:f32[4] mean:f32[4] var:f32[4]:0.5..2", NULL, "Y:f32", 15},
    {"InstanceNormalization", "[2,3,4,5]", "X:f32[2,3,4,5] scale:f32[3]:const B:f32[3]:const", NULL, "Y:f32", 0},
    {"LayerNormalization", "last axis", "X:f32[2,3,8] scale:f32[8]:const B:f32[8]:const", NULL, "Y:f32", 0},
    {"LayerNormalization", "axis 1, no bias", "X:f32[2,3,4] scale:f32[3,4]:const", "axis=1", "Y:f32", 0},
    {"Softmax", "last axis [2,3,10]", "X:f32[2,3,10]:-6..6", NULL, "Y:f32", 0},
    {"Softmax", "axis 1 [2,3,4]", "X:f32[2,3,4]:-6..6", "axis=1", "Y:f32", 0},
    {"Softmax", "axis 0 [3,5]", "X:f32[3,5]:-6..6", "axis=0", "Y:f32", 0},
    {"Softmax", "opset 11 coerced 2-D, axis 1", "X:f32[2,3,4]:-6..6", "axis=1", "Y:f32", 11},
    {"LogSoftmax", "last axis [4,10]", "X:f32[4,10]:-6..6", NULL, "Y:f32", 0},
    {"LogSoftmax", "axis 1 [2,5,3]", "X:f32[2,5,3]:-6..6", "axis=1", "Y:f32", 0},

    /* ---- shape and data movement ---- */
    {"Reshape", "constant shape [4,6] to [2,12]", "X:f32[4,6] shape:i64[2]:const:{2,12}", NULL, "Y:f32", 0},
    {"Reshape", "constant shape with -1", "X:f32[4,6] shape:i64[2]:const:{3,-1}", NULL, "Y:f32", 0},
    {"Reshape", "constant shape with 0 (copy dim)", "X:f32[2,3,4] shape:i64[2]:const:{0,-1}", NULL, "Y:f32", 0},
    {"Reshape", "shape as graph input", "X:f32[2,3,4] shape:i64[3]:{4,3,2}", NULL, "Y:f32", 0},
    {"Reshape", "to 1-D, dynamic input", "X:f32[2,3,4]:dyn shape:i64[1]:const:{-1}", NULL, "Y:f32", 0},
    {"Transpose", "2-D default perm", "X:f32[3,5]", NULL, "Y:f32", 0},
    {"Transpose", "NCHW to NHWC", "X:f32[2,3,4,5]", "perm=[0,2,3,1]", "Y:f32", 0},
    {"Transpose", "NHWC to NCHW", "X:f32[2,4,5,3]", "perm=[0,3,1,2]", "Y:f32", 0},
    {"Transpose", "3-D perm [1,0,2]", "X:f32[2,3,4]", "perm=[1,0,2]", "Y:f32", 0},
    {"Concat", "axis 0, two inputs", "A:f32[2,3] B:f32[4,3]", "axis=0", "C:f32", 0},
    {"Concat", "axis 1, three inputs", "A:f32[2,1,4] B:f32[2,3,4] C:f32[2,2,4]", "axis=1", "Y:f32", 0},
    {"Concat", "axis -1", "A:f32[2,3,2] B:f32[2,3,5]", "axis=-1", "C:f32", 0},
    {"Concat", "one constant input", "A:f32[1,2,3,3] B:f32[1,3,3,3]:const", "axis=1", "C:f32", 0},
    {"Flatten", "axis 1", "X:f32[2,3,4,5]", NULL, "Y:f32", 0},
    {"Flatten", "axis 0", "X:f32[2,3,4]", "axis=0", "Y:f32", 0},
    {"Flatten", "axis 2", "X:f32[2,3,4,5]", "axis=2", "Y:f32", 0},
    {"Flatten", "axis -1", "X:f32[2,3,4]", "axis=-1", "Y:f32", 0},
    {"Squeeze", "constant axes", "X:f32[3,1,4] axes:i64[1]:const:{1}", NULL, "Y:f32", 0},
    {"Squeeze", "no axes", "X:f32[1,3,1,4]", NULL, "Y:f32", 0},
    {"Unsqueeze", "constant axes [0,3]", "X:f32[3,4] axes:i64[2]:const:{0,3}", NULL, "Y:f32", 0},
    {"Slice", "constant starts and ends", "X:f32[6,8] starts:i64[2]:const:{1,2} ends:i64[2]:const:{5,7}", NULL,
     "Y:f32", 0},
    {"Slice", "axes and steps", "X:f32[4,10] starts:i64[1]:const:{1} ends:i64[1]:const:{9} "
     "axes:i64[1]:const:{1} steps:i64[1]:const:{3}", NULL, "Y:f32", 0},
    {"Slice", "negative bounds and step", "X:f32[10] starts:i64[1]:const:{-2} ends:i64[1]:const:{-9} "
     "axes:i64[1]:const:{0} steps:i64[1]:const:{-2}", NULL, "Y:f32", 0},
    {"Pad", "constant mode with value", "X:f32[1,2,3,3] pads:i64[8]:const:{0,0,1,2,0,0,2,1} value:f32[]:const:{0.5}",
     NULL, "Y:f32", 0},
    {"Pad", "reflect mode", "X:f32[2,5] pads:i64[4]:const:{0,2,0,3}", "mode=reflect", "Y:f32", 0},
    {"Expand", "[3,1] to [2,3,4]", "X:f32[3,1] shape:i64[3]:const:{2,3,4}", NULL, "Y:f32", 0},
    {"Tile", "repeats [2,3]", "X:f32[2,3] repeats:i64[2]:const:{2,3}", NULL, "Y:f32", 0},
    {"Split", "uneven sizes along axis 1", "X:f32[2,6] split:i64[2]:const:{2,4}", "axis=1", "Y0:f32 Y1:f32", 0},
    {"Split", "three equal parts along axis 0", "X:f32[6,3]", NULL, "Y0:f32 Y1:f32 Y2:f32", 0},
    {"DepthToSpace", "DCR blocksize 2", "X:f32[1,8,2,3]", "blocksize=2", "Y:f32", 0},
    {"DepthToSpace", "CRD blocksize 2", "X:f32[1,8,2,3]", "blocksize=2 mode=CRD", "Y:f32", 0},
    {"SpaceToDepth", "blocksize 2", "X:f32[1,2,4,6]", "blocksize=2", "Y:f32", 0},
    {"Resize", "nearest, scales 2x", "X:f32[1,2,3,4] _ scales:f32[4]:const:{1,1,2,2}", "mode=nearest", "Y:f32", 0},
    {"Resize", "linear half_pixel, sizes", "X:f32[1,2,4,4] _ _ sizes:i64[4]:const:{1,2,6,7}", "mode=linear",
     "Y:f32", 0},
    {"Gather", "axis 0", "X:f32[5,4] idx:i64[3]:0..4", NULL, "Y:f32", 0},
    {"Gather", "axis 1, 2-D indices", "X:f32[3,6] idx:i64[2,2]:0..5", "axis=1", "Y:f32", 0},
    {"Gather", "negative indices", "X:f32[5,3] idx:i64[4]:-5..4", NULL, "Y:f32", 0},
    {"Gather", "constant indices (embedding)", "X:f32[10,8] idx:i64[2,3]:const:0..9", NULL, "Y:f32", 0},
    {"Gather", "scalar index", "X:f32[4,5] idx:i64[]:{2}", NULL, "Y:f32", 0},
    {"Cast", "float to int64", "X:f32[3,5]:-100..100", "to=7", "Y:i64", 0},
    {"Cast", "int64 to float", "X:i64[3,5]:-1000..1000", "to=1", "Y:f32", 0},

    /* ---- reductions and selection ---- */
    {"ReduceMean", "axis 1 keepdims", "X:f32[2,3,4]", "axes=[1]", "Y:f32", 0},
    {"ReduceMean", "axes [0,2] no keepdims", "X:f32[2,3,4]", "axes=[0,2] keepdims=0", "Y:f32", 0},
    {"ReduceMean", "all axes", "X:f32[3,5]", NULL, "Y:f32", 0},
    {"ReduceMean", "spatial axes [2,3] of 4-D", "X:f32[2,3,4,5]", "axes=[2,3]", "Y:f32", 0},
    {"ReduceSum", "constant axes input", "X:f32[2,3,4] axes:i64[1]:const:{1}", NULL, "Y:f32", 0},
    {"ReduceSum", "no axes, no keepdims", "X:f32[3,5]", "keepdims=0", "Y:f32", 0},
    {"ReduceMax", "axis -1", "X:f32[2,3,4]", "axes=[-1]", "Y:f32", 0},
    {"ArgMax", "axis 1 keepdims", "X:f32[3,5,2]", "axis=1", "Y:i64", 0},
    {"ArgMax", "axis 0 no keepdims", "X:f32[4,3]", "axis=0 keepdims=0", "Y:i64", 0},
    {"TopK", "k 3 along the last axis", "X:f32[2,10] K:i64[1]:const:{3}", NULL, "V:f32 I:i64", 0},
};

const size_t pc_case_count = sizeof pc_cases / sizeof *pc_cases;
