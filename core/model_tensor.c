/*
 * model_tensor.c — TensorProto -> pr_const. Every count, size and offset read
 * from the file is checked before use; external data must stay inside the
 * model's folder.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ir.h"
#include "onnx.pb-c.h"
#include "tensor.h"

void pr_const_clear(pr_const *c) {
    if (!c) return;
    if (c->dtype == PRISM_DTYPE_STRING && c->data) {
        char **s = c->data;
        for (int64_t i = 0; i < c->count; i++) free(s[i]);
    }
    pr_aligned_free(c->data);
    free(c->dims);
    memset(c, 0, sizeof *c);
}

/* Resolve an external-data location against base_dir, refusing absolute
 * paths, ".." components and anything whose real path leaves base_dir
 * (symlinks included). */
static prism_status pr_external_path(const char *base_dir, const char *location, char **out) {
    if (!location || !*location) return pr_fail(PRISM_ERR_INVALID_MODEL, "external data has an empty location");
    if (!base_dir)
        return pr_fail(PRISM_ERR_INVALID_MODEL,
                       "external data '%s' cannot be used: the model was loaded from memory without a base folder",
                       location);
    if (location[0] == '/' || location[0] == '\\')
        return pr_fail(PRISM_ERR_INVALID_MODEL, "external data location '%s' is absolute: refused", location);
    for (const char *p = location; *p;) {
        const char *e = p + strcspn(p, "/\\");
        if (e - p == 2 && p[0] == '.' && p[1] == '.')
            return pr_fail(PRISM_ERR_INVALID_MODEL, "external data location '%s' escapes the model folder: refused",
                           location);
        p = *e ? e + 1 : e;
    }
    char *joined = pr_asprintf("%s/%s", base_dir, location);
    if (!joined) return pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    char real_base[PATH_MAX], real_file[PATH_MAX];
    if (!realpath(base_dir, real_base)) {
        free(joined);
        return pr_fail(PRISM_ERR_IO, "model folder '%s': %s", base_dir, strerror(errno));
    }
    if (!realpath(joined, real_file)) {
        prism_status st = pr_fail(PRISM_ERR_IO, "external data file '%s': %s", joined, strerror(errno));
        free(joined);
        return st;
    }
    free(joined);
    size_t bl = strlen(real_base);
    if (strncmp(real_file, real_base, bl) != 0 || (real_file[bl] != '/' && real_base[bl - 1] != '/'))
        return pr_fail(PRISM_ERR_INVALID_MODEL, "external data location '%s' resolves outside the model folder: refused",
                       location);
    *out = pr_strdup(real_file);
    return *out ? PRISM_OK : pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
}

/* fopen(path, "rb") that never blocks: opening a FIFO without a writer would
 * wait forever, so open non-blocking; callers then refuse anything that is
 * not a regular file (O_NONBLOCK does not affect regular files). */
static FILE *pr_fopen_read(const char *path) {
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return NULL;
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        int e = errno;
        close(fd);
        errno = e;
    }
    return f;
}

static bool pr_parse_u64(const char *s, uint64_t *out) {
    if (!s || !*s) return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || s[0] == '-') return false;
    *out = v;
    return true;
}

static prism_status pr_read_external(const Onnx__TensorProto *tp, const char *base_dir, size_t want, void *dst) {
    const char *location = NULL, *offset_s = NULL, *length_s = NULL;
    for (size_t i = 0; i < tp->n_external_data; i++) {
        const Onnx__StringStringEntryProto *e = tp->external_data[i];
        if (!e || !e->key) continue;
        if (!strcmp(e->key, "location")) location = e->value;
        else if (!strcmp(e->key, "offset")) offset_s = e->value;
        else if (!strcmp(e->key, "length")) length_s = e->value;
    }
    uint64_t offset = 0, length = want;
    const char *loc = location ? location : "";
    if (offset_s && !pr_parse_u64(offset_s, &offset))
        return pr_fail(PRISM_ERR_INVALID_MODEL, "external data '%s': offset '%s' is not a number", loc, offset_s);
    if (length_s && !pr_parse_u64(length_s, &length))
        return pr_fail(PRISM_ERR_INVALID_MODEL, "external data '%s': length '%s' is not a number", loc, length_s);
    if (length != want)
        return pr_fail(PRISM_ERR_INVALID_MODEL,
                       "external data '%s': length %llu does not match the %zu bytes of the tensor", loc,
                       (unsigned long long)length, want);
    char *path;
    prism_status st = pr_external_path(base_dir, location, &path);
    if (st) return st;
    FILE *f = pr_fopen_read(path);
    if (!f) {
        st = pr_fail(PRISM_ERR_IO, "cannot open external data '%s': %s", path, strerror(errno));
        free(path);
        return st;
    }
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        st = pr_fail(PRISM_ERR_IO, "external data '%s' is not a regular file", path);
    } else if (offset > (uint64_t)sb.st_size || want > (uint64_t)sb.st_size - offset) {
        st = pr_fail(PRISM_ERR_INVALID_MODEL, "external data '%s': offset %llu + length %zu is past its end (%lld bytes)",
                     path, (unsigned long long)offset, want, (long long)sb.st_size);
    } else if (fseeko(f, (off_t)offset, SEEK_SET) != 0 || (want && fread(dst, 1, want, f) != want)) {
        st = pr_fail(PRISM_ERR_IO, "cannot read %zu bytes of external data '%s'", want, path);
    }
    fclose(f);
    free(path);
    return st;
}

/* "[2,3]" into buf (truncated with "..." when it does not fit). */
static void pr_format_dims(const int64_t *dims, size_t rank, char *buf, size_t size) {
    size_t n = (size_t)snprintf(buf, size, "["), i;
    for (i = 0; i < rank && n + 24 < size; i++)
        n += (size_t)snprintf(buf + n, size - n, "%s%lld", i ? "," : "", (long long)dims[i]);
    snprintf(buf + n, size - n, "%s]", i < rank ? "..." : "");
}

/* Copy the elements of one typed repeated field, converting to dtype. */
#define PR_COPY_FIELD(field, n_field, ctype)                       \
    do {                                                            \
        if (tp->n_field != (size_t)c.count) goto count_mismatch;   \
        for (int64_t i = 0; i < c.count; i++)                      \
            ((ctype *)c.data)[i] = (ctype)tp->field[i];            \
    } while (0)

static prism_status const_from_proto(const Onnx__TensorProto *tp, const char *base_dir, pr_const *out,
                                     ProtobufCBinaryData *adopt);

prism_status pr_const_from_proto(const Onnx__TensorProto *tp, const char *base_dir, pr_const *out) {
    return const_from_proto(tp, base_dir, out, NULL);
}

/* Same, but takes over the message's raw_data buffer instead of copying it
 * (protobuf-c allocates it with malloc, like pr_aligned_alloc): a model's
 * weights are then held once, not twice, while it loads. */
prism_status pr_const_from_proto_take(Onnx__TensorProto *tp, const char *base_dir, pr_const *out) {
    return const_from_proto(tp, base_dir, out, &tp->raw_data);
}

static prism_status const_from_proto(const Onnx__TensorProto *tp, const char *base_dir, pr_const *out,
                                     ProtobufCBinaryData *adopt) {
    memset(out, 0, sizeof *out);
    pr_const c = {0};
    int32_t dt = tp->has_data_type ? tp->data_type : 0;
    const char *nm = tp->name ? tp->name : "";
    if (!pr_dtype_known(dt))
        return pr_fail(PRISM_ERR_NOT_SUPPORTED, "tensor '%s': data type %d is not supported", nm, (int)dt);
    if (tp->segment) return pr_fail(PRISM_ERR_NOT_SUPPORTED, "tensor '%s': segmented tensors are not supported", nm);
    c.dtype = dt;
    c.rank = (uint32_t)tp->n_dims;
    if (tp->n_dims > 64) return pr_fail(PRISM_ERR_INVALID_MODEL, "tensor '%s': rank %zu is absurd", nm, tp->n_dims);
    if (!pr_shape_count(tp->dims, tp->n_dims, &c.count)) {
        char shape[512];
        pr_format_dims(tp->dims, tp->n_dims, shape, sizeof shape);
        return pr_fail(PRISM_ERR_INVALID_MODEL, "tensor '%s': dims %s have a negative dim or more than 2^50 elements",
                       nm, shape);
    }
    size_t esize = prism_dtype_size((prism_dtype)dt);
    if (!pr_mul_size((size_t)c.count, esize, &c.bytes))
        return pr_fail(PRISM_ERR_INVALID_MODEL, "tensor '%s': byte size overflows", nm);
    if (c.rank) {
        c.dims = malloc(c.rank * sizeof *c.dims);
        if (!c.dims) return pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
        memcpy(c.dims, tp->dims, c.rank * sizeof *c.dims);
    }
    bool external = tp->has_data_location && tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    /* The declared size must be backed by data before we allocate it, so a
     * tiny file cannot make us allocate terabytes. External data is checked
     * against the file size in pr_read_external before the read. */
    if (!external) {
        if (tp->has_raw_data ? tp->raw_data.len != c.bytes
                             : tp->n_float_data + tp->n_int32_data + tp->n_int64_data + tp->n_double_data +
                                       tp->n_uint64_data + tp->n_string_data < (size_t)c.count)
            goto count_mismatch;
    }
    if (external && dt == PRISM_DTYPE_STRING) {
        free(c.dims);
        return pr_fail(PRISM_ERR_NOT_SUPPORTED, "tensor '%s': external string data is not supported", nm);
    }
    bool adopted = adopt && !external && tp->has_raw_data && dt != PRISM_DTYPE_STRING && c.bytes &&
                   adopt->len == c.bytes && adopt->data;
    if (adopted) {
        c.data = adopt->data;
        adopt->data = NULL;
        adopt->len = 0;
    } else {
        c.data = pr_aligned_calloc(c.bytes);
    }
    if (!c.data) {
        free(c.dims);
        return pr_fail(PRISM_ERR_OUT_OF_MEMORY, "tensor '%s': cannot allocate %zu bytes", nm, c.bytes);
    }
    prism_status st = PRISM_OK;
    if (external) {
        st = pr_read_external(tp, base_dir, c.bytes, c.data);
        if (st) {
            pr_fail_context(st, "tensor '%s'", nm);
            goto fail;
        }
    } else if (dt == PRISM_DTYPE_STRING) {
        if (tp->n_string_data != (size_t)c.count) goto count_mismatch;
        char **s = c.data;
        for (int64_t i = 0; i < c.count; i++) {
            s[i] = pr_strndup((const char *)tp->string_data[i].data, tp->string_data[i].len);
            if (!s[i]) {
                st = pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
                goto fail;
            }
        }
    } else if (adopted) {
        /* the data is already in place */
    } else if (tp->has_raw_data) {
        if (tp->raw_data.len != c.bytes) goto count_mismatch;
        if (c.bytes) memcpy(c.data, tp->raw_data.data, c.bytes);
    } else {
        switch (dt) {
        case PRISM_DTYPE_FLOAT: PR_COPY_FIELD(float_data, n_float_data, float); break;
        case PRISM_DTYPE_COMPLEX64:
            if (tp->n_float_data != (size_t)c.count * 2) goto count_mismatch;
            memcpy(c.data, tp->float_data, c.bytes);
            break;
        case PRISM_DTYPE_INT32: PR_COPY_FIELD(int32_data, n_int32_data, int32_t); break;
        case PRISM_DTYPE_INT16: PR_COPY_FIELD(int32_data, n_int32_data, int16_t); break;
        case PRISM_DTYPE_INT8: PR_COPY_FIELD(int32_data, n_int32_data, int8_t); break;
        case PRISM_DTYPE_UINT16:
        case PRISM_DTYPE_FLOAT16:
        case PRISM_DTYPE_BFLOAT16: PR_COPY_FIELD(int32_data, n_int32_data, uint16_t); break;
        case PRISM_DTYPE_UINT8: PR_COPY_FIELD(int32_data, n_int32_data, uint8_t); break;
        case PRISM_DTYPE_BOOL:
            if (tp->n_int32_data != (size_t)c.count) goto count_mismatch;
            for (int64_t i = 0; i < c.count; i++) ((uint8_t *)c.data)[i] = tp->int32_data[i] != 0;
            break;
        case PRISM_DTYPE_INT64: PR_COPY_FIELD(int64_data, n_int64_data, int64_t); break;
        case PRISM_DTYPE_DOUBLE: PR_COPY_FIELD(double_data, n_double_data, double); break;
        case PRISM_DTYPE_COMPLEX128:
            if (tp->n_double_data != (size_t)c.count * 2) goto count_mismatch;
            memcpy(c.data, tp->double_data, c.bytes);
            break;
        case PRISM_DTYPE_UINT32: PR_COPY_FIELD(uint64_data, n_uint64_data, uint32_t); break;
        case PRISM_DTYPE_UINT64: PR_COPY_FIELD(uint64_data, n_uint64_data, uint64_t); break;
        default: goto count_mismatch;
        }
    }
    *out = c;
    return PRISM_OK;

count_mismatch:
    st = pr_fail(PRISM_ERR_INVALID_MODEL, "tensor '%s': the data does not hold the %lld elements its dims declare", nm,
                 (long long)c.count);
fail:
    pr_const_clear(&c);
    return st;
}

/* ---- public TensorProto I/O ---------------------------------------------- */

static prism_status pr_tensor_from_const(pr_const *c, const char *name, prism_tensor **out) {
    prism_tensor *t = calloc(1, sizeof *t);
    if (!t) return pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    t->dtype = (prism_dtype)c->dtype;
    t->rank = c->rank;
    t->dims = c->dims;
    t->count = c->count;
    t->bytes = c->bytes;
    t->data = c->data;
    t->owns_data = true;
    t->name = pr_strdup(name ? name : "");
    memset(c, 0, sizeof *c);
    if (!t->name) {
        prism_tensor_destroy(t);
        return pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    }
    *out = t;
    return PRISM_OK;
}

prism_status prism_tensor_load_pb_memory(const void *data, size_t size, prism_tensor **out_tensor,
                                         const char **out_name) {
    if (!data && size) return pr_fail(PRISM_ERR_INVALID_ARGUMENT, "load_pb: NULL data");
    if (!out_tensor) return pr_fail(PRISM_ERR_INVALID_ARGUMENT, "load_pb: NULL output pointer");
    Onnx__TensorProto *tp = onnx__tensor_proto__unpack(NULL, size, data);
    if (!tp) return pr_fail(PRISM_ERR_INVALID_MODEL, "not a valid serialized TensorProto (%zu bytes)", size);
    pr_const c;
    prism_status st = pr_const_from_proto(tp, NULL, &c);
    prism_tensor *t = NULL;
    if (!st) st = pr_tensor_from_const(&c, tp->name, &t);
    onnx__tensor_proto__free_unpacked(tp, NULL);
    if (st) return st;
    *out_tensor = t;
    if (out_name) *out_name = t->name;
    return PRISM_OK;
}

prism_status pr_read_file(const char *path, void **out_data, size_t *out_size) {
    if (!path) return pr_fail(PRISM_ERR_INVALID_ARGUMENT, "NULL path");
    FILE *f = pr_fopen_read(path);
    if (!f) return pr_fail(PRISM_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        fclose(f);
        return pr_fail(PRISM_ERR_IO, "'%s' is not a regular file", path);
    }
    size_t size = (size_t)sb.st_size;
    void *buf = malloc(size ? size : 1);
    if (!buf) {
        fclose(f);
        return pr_fail(PRISM_ERR_OUT_OF_MEMORY, "cannot allocate %zu bytes to read '%s'", size, path);
    }
    if (size && fread(buf, 1, size, f) != size) {
        free(buf);
        fclose(f);
        return pr_fail(PRISM_ERR_IO, "cannot read '%s'", path);
    }
    fclose(f);
    *out_data = buf;
    *out_size = size;
    return PRISM_OK;
}

prism_status prism_tensor_load_pb(const char *path, prism_tensor **out_tensor, const char **out_name) {
    void *data;
    size_t size;
    prism_status st = pr_read_file(path, &data, &size);
    if (st) return st;
    st = prism_tensor_load_pb_memory(data, size, out_tensor, out_name);
    free(data);
    if (st) pr_fail_context(st, "'%s'", path);
    return st;
}

prism_status prism_tensor_save_pb(const prism_tensor *t, const char *name, const char *path) {
    if (!t || !path) return pr_fail(PRISM_ERR_INVALID_ARGUMENT, "save_pb: NULL tensor or path");
    Onnx__TensorProto tp = ONNX__TENSOR_PROTO__INIT;
    tp.n_dims = t->rank;
    tp.dims = t->dims;
    tp.has_data_type = 1;
    tp.data_type = (int32_t)t->dtype;
    tp.name = (char *)(name ? name : "");
    ProtobufCBinaryData *strs = NULL;
    if (t->dtype == PRISM_DTYPE_STRING) {
        strs = calloc(t->count ? (size_t)t->count : 1, sizeof *strs);
        if (!strs) return pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
        char *const *s = t->data;
        for (int64_t i = 0; i < t->count; i++) {
            strs[i].data = (uint8_t *)(s[i] ? s[i] : "");
            strs[i].len = s[i] ? strlen(s[i]) : 0;
        }
        tp.n_string_data = (size_t)t->count;
        tp.string_data = strs;
    } else {
        tp.has_raw_data = 1;
        tp.raw_data.data = t->data;
        tp.raw_data.len = t->bytes;
    }
    size_t n = onnx__tensor_proto__get_packed_size(&tp);
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf) {
        free(strs);
        return pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    }
    onnx__tensor_proto__pack(&tp, buf);
    free(strs);
    FILE *f = fopen(path, "wb");
    prism_status st = PRISM_OK;
    if (!f) st = pr_fail(PRISM_ERR_IO, "cannot create '%s': %s", path, strerror(errno));
    else {
        if (fwrite(buf, 1, n, f) != n) st = pr_fail(PRISM_ERR_IO, "cannot write '%s'", path);
        if (fclose(f) != 0 && !st) st = pr_fail(PRISM_ERR_IO, "cannot write '%s'", path);
    }
    free(buf);
    return st;
}
