/*
 * main.c — prism-xclbin-writer OUT.xclbin [--platform NAME]
 *
 * Writes the metadata-only xclbin of the XRT provider's kernels (see
 * xclbin_writer.h). The build runs it to produce prism_xrt_kernels.xclbin
 * next to the provider. The file is written to OUT.tmp and renamed, so a
 * failed run never leaves a truncated xclbin behind.
 *
 * The timestamp is SOURCE_DATE_EPOCH when set (reproducible builds), else
 * the current time.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "xclbin_format.h"
#include "xclbin_writer.h"

static int usage(const char *argv0) {
    fprintf(stderr, "usage: %s OUT.xclbin [--platform NAME]\n", argv0);
    return 2;
}

static uint64_t build_timestamp(void) {
    const char *epoch = getenv("SOURCE_DATE_EPOCH");
    if (epoch && *epoch) {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(epoch, &end, 10);
        if (!*end && errno == 0) return v;
    }
    return (uint64_t)time(NULL);
}

static int write_file(const char *path, const xw_buf *b) {
    size_t n = strlen(path) + 5;
    char *tmp = malloc(n);
    if (!tmp) return -1;
    snprintf(tmp, n, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    int ok = f && fwrite(b->data, 1, b->len, f) == b->len;
    if (f && fclose(f) != 0) ok = 0;
    if (ok && rename(tmp, path) != 0) ok = 0;
    if (!ok) {
        fprintf(stderr, "prism-xclbin-writer: cannot write %s: %s\n", path, strerror(errno));
        remove(tmp);
    }
    free(tmp);
    return ok ? 0 : -1;
}

int main(int argc, char **argv) {
    const char *out = NULL, *platform = XW_DEFAULT_PLATFORM;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--platform") == 0) {
            if (++i >= argc) return usage(argv[0]);
            platform = argv[i];
        } else if (argv[i][0] == '-' || out) {
            return usage(argv[0]);
        } else {
            out = argv[i];
        }
    }
    if (!out) return usage(argv[0]);
    if (!*platform || strlen(platform) >= AXLF_H_PLATFORM_VBNV_SIZE) {
        fprintf(stderr, "prism-xclbin-writer: the platform name must be 1 to %d characters\n",
                AXLF_H_PLATFORM_VBNV_SIZE - 1);
        return 2;
    }
    xw_buf b = {0};
    if (xw_build_xclbin(&b, platform, build_timestamp()) != 0) {
        fprintf(stderr, "prism-xclbin-writer: out of memory\n");
        xw_buf_free(&b);
        return 1;
    }
    int rc = write_file(out, &b) == 0 ? 0 : 1;
    xw_buf_free(&b);
    return rc;
}
