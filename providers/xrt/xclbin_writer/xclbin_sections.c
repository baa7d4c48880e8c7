/*
 * xclbin_sections.c — the four sections XRT core needs before it will open
 * a kernel and bind its arguments: EMBEDDED_METADATA (the kernels and
 * their arguments, as XML), IP_LAYOUT (one compute unit per kernel),
 * MEM_TOPOLOGY (one DDR bank) and CONNECTIVITY (every buffer argument of
 * every compute unit to that bank). Everything is generated from the
 * descriptor table of prism_hls_args.h so that the xclbin cannot disagree
 * with the kernels' prototypes.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "prism_hls_args.h"
#include "xclbin_format.h"
#include "xclbin_writer.h"

/* "M_AXI_GMEM0" for bundle "gmem0": the AXI master port Vitis HLS names
 * after an m_axi bundle. */
static void master_port_name(const char *bundle, char *out, size_t size) {
    size_t n = 0;
    const char *prefix = "M_AXI_";
    for (const char *s = prefix; *s && n + 1 < size; s++) out[n++] = *s;
    for (const char *s = bundle; *s && n + 1 < size; s++) out[n++] = (char)toupper((unsigned char)*s);
    out[n] = 0;
}

/* True when bundle already appeared on an earlier argument of k. */
static int bundle_seen_before(const prism_hls_kernel_desc *k, int index) {
    for (int i = 0; i < index; i++)
        if (k->args[i].bundle && strcmp(k->args[i].bundle, k->args[index].bundle) == 0) return 1;
    return 0;
}

static void kernel_xml(xw_buf *out, const prism_hls_kernel_desc *k, int cu) {
    char port[64];
    xw_appendf(out,
               "        <kernel name=\"%s\" language=\"c\" vlnv=\"xilinx.com:hls:%s:1.0\" attributes=\"\" "
               "preferredWorkGroupSizeMultiple=\"0\" workGroupSize=\"1\" interrupt=\"true\" "
               "hwControlProtocol=\"ap_ctrl_hs\">\n",
               k->name, k->name);
    for (int i = 0; i < k->n_args; i++) {
        if (!k->args[i].is_buffer || bundle_seen_before(k, i)) continue;
        master_port_name(k->args[i].bundle, port, sizeof port);
        xw_appendf(out,
                   "          <port name=\"%s\" mode=\"master\" range=\"0xFFFFFFFFFFFFFFFF\" dataWidth=\"32\" "
                   "portType=\"addressable\" base=\"0x0\"/>\n",
                   port);
    }
    xw_appendf(out,
               "          <port name=\"%s\" mode=\"slave\" range=\"0x1000\" dataWidth=\"32\" "
               "portType=\"addressable\" base=\"0x0\"/>\n",
               PRISM_HLS_CONTROL_PORT);
    for (int i = 0; i < k->n_args; i++) {
        const prism_hls_arg_desc *a = &k->args[i];
        if (a->is_buffer)
            master_port_name(a->bundle, port, sizeof port);
        else
            snprintf(port, sizeof port, "%s", PRISM_HLS_CONTROL_PORT);
        xw_appendf(out,
                   "          <arg name=\"%s\" addressQualifier=\"%d\" id=\"%d\" port=\"%s\" size=\"0x%x\" "
                   "offset=\"0x%lx\" hostOffset=\"0x0\" hostSize=\"0x%x\" type=\"%s\"/>\n",
                   a->name, a->is_buffer ? 1 : 0, i, port, a->size, prism_hls_arg_offset(k, i), a->size, a->type);
    }
    xw_appendf(out,
               "          <instance name=\"%s_1\">\n"
               "            <addrRemap base=\"0x%x\" port=\"%s\"/>\n"
               "          </instance>\n"
               "        </kernel>\n",
               k->name, XW_CU_BASE + (unsigned)cu * XW_CU_STRIDE, PRISM_HLS_CONTROL_PORT);
}

int xw_metadata_xml(xw_buf *out, const char *platform) {
    int n;
    const prism_hls_kernel_desc *kernels = prism_hls_kernel_table(&n);
    xw_appendf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<project name=\"prism_kernels\">\n"
                    "  <platform vendor=\"xilinx\" boardid=\"\" name=\"");
    xw_append_xml_escaped(out, platform);
    xw_appendf(out, "\" featureRomTime=\"0\">\n"
                    "    <version major=\"1\" minor=\"0\"/>\n"
                    "    <description/>\n"
                    "    <device name=\"fpga0\" fpgaDevice=\"\" addrWidth=\"64\">\n");
    xw_appendf(out, "      <core name=\"OCL_REGION_0\" target=\"hw\" type=\"clc_region\" numComputeUnits=\"%d\">\n",
               n);
    for (int i = 0; i < n; i++) kernel_xml(out, &kernels[i], i);
    xw_appendf(out, "      </core>\n    </device>\n  </platform>\n</project>\n");
    return out->failed ? -1 : 0;
}

int xw_ip_layout(xw_buf *out) {
    int n;
    const prism_hls_kernel_desc *kernels = prism_hls_kernel_table(&n);
    const size_t base = out->len;
    xw_append(out, NULL, IP_LAYOUT_DATA + (size_t)n * IP_DATA_BYTES);
    xw_put_u32(out, base + IP_LAYOUT_COUNT, (uint32_t)n);
    for (int i = 0; i < n; i++) {
        const size_t ip = base + IP_LAYOUT_DATA + (size_t)i * IP_DATA_BYTES;
        char name[IP_DATA_NAME_SIZE];
        snprintf(name, sizeof name, "%s:%s_1", kernels[i].name, kernels[i].name);
        xw_put_u32(out, ip + IP_DATA_TYPE, IP_TYPE_KERNEL);
        xw_put_u32(out, ip + IP_DATA_PROPERTIES, IP_CONTROL_AP_CTRL_HS << IP_CONTROL_SHIFT);
        xw_put_u64(out, ip + IP_DATA_BASE, XW_CU_BASE + (uint64_t)i * XW_CU_STRIDE);
        xw_put_str(out, ip + IP_DATA_NAME, name, IP_DATA_NAME_SIZE);
    }
    return out->failed ? -1 : 0;
}

int xw_mem_topology(xw_buf *out) {
    const size_t base = out->len;
    xw_append(out, NULL, MEM_TOPOLOGY_DATA + MEM_DATA_BYTES);
    xw_put_u32(out, base + MEM_TOPOLOGY_COUNT, 1);
    const size_t bank = base + MEM_TOPOLOGY_DATA;
    xw_put_u8(out, bank + MEM_DATA_TYPE, MEM_TYPE_DDR4);
    xw_put_u8(out, bank + MEM_DATA_USED, 1);
    xw_put_u64(out, bank + MEM_DATA_SIZE_KB, XW_BANK_SIZE_KB);
    xw_put_u64(out, bank + MEM_DATA_BASE, 0);
    xw_put_str(out, bank + MEM_DATA_TAG, XW_BANK_TAG, MEM_DATA_TAG_SIZE);
    return out->failed ? -1 : 0;
}

int xw_connectivity(xw_buf *out) {
    int n, count = 0;
    const prism_hls_kernel_desc *kernels = prism_hls_kernel_table(&n);
    for (int i = 0; i < n; i++)
        for (int a = 0; a < kernels[i].n_args; a++) count += kernels[i].args[a].is_buffer;
    const size_t base = out->len;
    xw_append(out, NULL, CONNECTIVITY_DATA + (size_t)count * CONNECTION_BYTES);
    xw_put_u32(out, base + CONNECTIVITY_COUNT, (uint32_t)count);
    size_t at = base + CONNECTIVITY_DATA;
    for (int i = 0; i < n; i++)
        for (int a = 0; a < kernels[i].n_args; a++) {
            if (!kernels[i].args[a].is_buffer) continue;
            xw_put_u32(out, at + CONNECTION_ARG_INDEX, (uint32_t)a);
            xw_put_u32(out, at + CONNECTION_IP_INDEX, (uint32_t)i); /* CU i is IP i */
            xw_put_u32(out, at + CONNECTION_MEM_INDEX, 0);
            at += CONNECTION_BYTES;
        }
    return out->failed ? -1 : 0;
}
