/*
 * xrt_env.c — deciding, before the first XRT call, whether XRT may be called
 * at all.
 *
 * Why: XRT 2.13 ends the whole process (std::terminate, or exit(1) inside
 * the library) when its environment is wrong: XILINX_XRT unset, its lib/
 * folder without the shim library of the mode, XCL_EMULATION_MODE empty or
 * unknown, sw_emu without Vitis's emulation model, hw_emu without the Vivado
 * simulator (it hangs). A runtime that loads every provider to list devices
 * must never die because one SDK is half installed, so each of these is
 * checked here and turned into a reason shown by `prism devices`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xrt_internal.h"

static bool file_ok(const char *dir, const char *rel, int mode) {
    char path[4096];
    int n = snprintf(path, sizeof path, "%s/%s", dir, rel);
    return n > 0 && (size_t)n < sizeof path && access(path, mode) == 0;
}

bool xrt_env_check(char *why, size_t n, const char **mode) {
    const char *root = getenv("XILINX_XRT");
    const char *emu = getenv("XCL_EMULATION_MODE");
    const char *shim = "libxrt_core.so.2";
    *mode = "hw";
    if (emu) {
        if (!*emu) {
            snprintf(why, n, "XCL_EMULATION_MODE is set but empty (XRT would abort): unset it or use noop");
            return false;
        }
        if (!strcmp(emu, "noop")) {
            *mode = "noop";
            shim = "libxrt_noop.so.2";
        } else if (!strcmp(emu, "sw_emu")) {
            *mode = "sw_emu";
            shim = "libxrt_swemu.so.2";
        } else if (!strcmp(emu, "hw_emu")) {
            *mode = "hw_emu";
            shim = "libxrt_hwemu.so.2";
        } else {
            snprintf(why, n,
                     "XCL_EMULATION_MODE='%.40s' is not sw_emu, hw_emu or noop (XRT would abort): no XRT device",
                     emu);
            return false;
        }
    }
    if (!root || !*root) {
        snprintf(why, n, "XILINX_XRT is not set (XRT would abort): set it to the XRT install, e.g. /opt/xilinx/xrt");
        return false;
    }
    if (!file_ok(root, "lib", R_OK | X_OK) || !file_ok(root, "lib/", R_OK)) {
        snprintf(why, n, "XILINX_XRT=%.200s has no lib/ folder: no XRT device", root);
        return false;
    }
    char rel[64];
    snprintf(rel, sizeof rel, "lib/%s", shim);
    if (!file_ok(root, rel, R_OK)) {
        snprintf(why, n,
                 "XILINX_XRT=%.200s has no lib/%s for mode %s (XRT would abort); on Debian point XILINX_XRT at a "
                 "folder whose lib links to /usr/lib/x86_64-linux-gnu",
                 root, shim, *mode);
        return false;
    }
    if (!strcmp(*mode, "sw_emu")) {
        const char *vitis = getenv("XILINX_VITIS");
        if (!vitis || !*vitis ||
            !file_ok(vitis, "data/emulation/unified/cpu_em/generic_pcie/model/genericpciemodel", X_OK)) {
            snprintf(why, n,
                     "XCL_EMULATION_MODE=sw_emu needs Vitis (XILINX_VITIS with data/emulation/unified/cpu_em/"
                     "generic_pcie/model/genericpciemodel); without it XRT exits the process: no XRT device");
            return false;
        }
    }
    if (!strcmp(*mode, "hw_emu")) {
        const char *vitis = getenv("XILINX_VITIS"), *vivado = getenv("XILINX_VIVADO");
        if (!vitis || !*vitis || !vivado || !*vivado || !file_ok(vivado, "bin/xsim", X_OK)) {
            snprintf(why, n,
                     "XCL_EMULATION_MODE=hw_emu needs Vitis and the Vivado simulator (XILINX_VITIS, XILINX_VIVADO "
                     "with bin/xsim); without them XRT hangs: no XRT device");
            return false;
        }
    }
    return true;
}

void xrt_env_quiet(const char *ini_path) {
    if (getenv("XRT_INI_PATH")) return; /* the user's choice wins */
    if (ini_path && access(ini_path, R_OK) == 0) setenv("XRT_INI_PATH", ini_path, 0);
}
