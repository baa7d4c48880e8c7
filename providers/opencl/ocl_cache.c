/*
 * ocl_cache.c — program binaries on disk, so a process need not compile
 * every kernel from source again (a driver compile takes up to seconds per
 * program).
 *
 * One file per key (device, driver, platform, build options, source hash),
 * named by a hash of the key. Each file starts with a header: magic,
 * format version, key length, binary length and a checksum of key and
 * binary; the full key follows, then the binary. Anything that does not
 * match exactly (another key under a colliding name, a truncated or
 * corrupted file) is reported as stale and the caller rebuilds from source
 * and rewrites the entry. Writes go to a temporary file renamed into place,
 * so a reader never sees half a file, even with several processes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ocl_internal.h"

#define MAGIC "PRISMOCL"
#define FORMAT 1u
#define MAX_BINARY ((uint64_t)1 << 30)

typedef struct cache_header {
    char magic[8];
    uint32_t format;
    uint32_t key_len;
    uint64_t bin_len;
    uint64_t checksum;
} cache_header;

uint64_t ocl_hash64(const void *data, size_t n, uint64_t seed) {
    /* FNV-1a, 64 bit. */
    const unsigned char *p = data;
    uint64_t h = seed ? seed : UINT64_C(0xcbf29ce484222325);
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= UINT64_C(0x100000001b3);
    }
    return h;
}

static uint64_t checksum(const char *key, size_t key_len, const unsigned char *bin, size_t len) {
    return ocl_hash64(bin, len, ocl_hash64(key, key_len, 0));
}

static bool file_path(const char *dir, const char *key, char *out, size_t size) {
    int n = snprintf(out, size, "%s/%016llx.bin", dir, (unsigned long long)ocl_hash64(key, strlen(key), 0));
    return n > 0 && (size_t)n < size;
}

void ocl_cache_default_dir(char *out, size_t size) {
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    if (xdg && *xdg) snprintf(out, size, "%s/prism/opencl", xdg);
    else if (home && *home) snprintf(out, size, "%s/.cache/prism/opencl", home);
    else out[0] = '\0';
}

unsigned char *ocl_cache_load(const char *dir, const char *key, size_t *len, char *why, size_t why_size) {
    char path[1200];
    if (!file_path(dir, key, path, sizeof path)) {
        snprintf(why, why_size, "cache path too long");
        return NULL;
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(why, why_size, "no entry");
        return NULL;
    }
    cache_header h;
    size_t key_len = strlen(key);
    unsigned char *bin = NULL;
    char *stored_key = NULL;
    const char *bad = NULL;
    if (fread(&h, sizeof h, 1, f) != 1 || memcmp(h.magic, MAGIC, 8) != 0) bad = "bad magic or short header";
    else if (h.format != FORMAT) bad = "another format version";
    else if (h.key_len != key_len || h.bin_len == 0 || h.bin_len > MAX_BINARY) bad = "key or length mismatch";
    if (!bad) {
        stored_key = malloc(key_len + 1);
        bin = malloc((size_t)h.bin_len);
        if (!stored_key || !bin) bad = "out of memory";
        else if (fread(stored_key, 1, key_len, f) != key_len || memcmp(stored_key, key, key_len) != 0)
            bad = "key mismatch";
        else if (fread(bin, 1, (size_t)h.bin_len, f) != h.bin_len || fgetc(f) != EOF) bad = "truncated or too long";
        else if (checksum(key, key_len, bin, (size_t)h.bin_len) != h.checksum) bad = "checksum mismatch";
    }
    fclose(f);
    free(stored_key);
    if (bad) {
        snprintf(why, why_size, "%s (%s)", bad, path);
        free(bin);
        return NULL;
    }
    *len = (size_t)h.bin_len;
    return bin;
}

/* mkdir -p */
static bool make_dirs(const char *dir) {
    char tmp[1024];
    if (snprintf(tmp, sizeof tmp, "%s", dir) >= (int)sizeof tmp) return false;
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST) return false;
        *p = '/';
    }
    return mkdir(tmp, 0755) == 0 || errno == EEXIST;
}

bool ocl_cache_store(const char *dir, const char *key, const unsigned char *bin, size_t len, char *why,
                     size_t why_size) {
    char path[1200], tmp[1300];
    if (!file_path(dir, key, path, sizeof path)) {
        snprintf(why, why_size, "cache path too long");
        return false;
    }
    if (!make_dirs(dir)) {
        snprintf(why, why_size, "cannot create %s: %s", dir, strerror(errno));
        return false;
    }
    static _Atomic unsigned counter;
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld.%u", path, (long)getpid(), counter++);
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        snprintf(why, why_size, "cannot write %s: %s", tmp, strerror(errno));
        return false;
    }
    size_t key_len = strlen(key);
    cache_header h;
    memset(&h, 0, sizeof h);
    memcpy(h.magic, MAGIC, 8);
    h.format = FORMAT;
    h.key_len = (uint32_t)key_len;
    h.bin_len = len;
    h.checksum = checksum(key, key_len, bin, len);
    bool ok = fwrite(&h, sizeof h, 1, f) == 1 && fwrite(key, 1, key_len, f) == key_len &&
              fwrite(bin, 1, len, f) == len;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        snprintf(why, why_size, "cannot write %s: %s", path, strerror(errno));
        remove(tmp);
        return false;
    }
    return true;
}
