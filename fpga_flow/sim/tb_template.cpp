// Generated Verilator testbench for module @TOP@ (fpga_flow.sim.verilator).
// argv: in.bin out.bin stats.json n_in_words in_per_frame out_per_frame n_frames
//       bp_permille gap_permille seed stall_limit max_cycles
#include "V@TOP@.h"
#include "verilated.h"
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

static const int IN_NB = @IN_NB@, OUT_NB = @OUT_NB@;

static inline void set_in(V@TOP@* t, const uint8_t* p) {
@SET_IN@
}
static inline void get_out(V@TOP@* t, uint8_t* p) {
@GET_OUT@
}
static inline void get_dbg(V@TOP@* t, uint8_t* p) {
@GET_DBG@
}
static uint64_t rng_state;
static inline uint32_t rnd() {
    rng_state ^= rng_state << 13; rng_state ^= rng_state >> 7; rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 11);
}

int main(int argc, char** argv) {
    if (argc < 13) { fprintf(stderr, "usage: in out stats n_in in_pf out_pf frames bp gap seed stall max\n"); return 2; }
    const char* in_path = argv[1]; const char* out_path = argv[2]; const char* stats_path = argv[3];
    long long n_in = atoll(argv[4]), in_pf = atoll(argv[5]), out_pf = atoll(argv[6]), frames = atoll(argv[7]);
    int bp = atoi(argv[8]), gap = atoi(argv[9]);
    rng_state = strtoull(argv[10], nullptr, 10) * 2654435761ULL + 88172645463325252ULL;
    long long stall_limit = atoll(argv[11]), max_cycles = atoll(argv[12]);
    long long n_out = out_pf * frames;

    std::vector<uint8_t> in((size_t)n_in * IN_NB), out((size_t)n_out * OUT_NB);
    FILE* f = fopen(in_path, "rb");
    if (!f || fread(in.data(), 1, in.size(), f) != in.size()) { fprintf(stderr, "cannot read %s\n", in_path); return 2; }
    fclose(f);

    VerilatedContext* ctx = new VerilatedContext;
    ctx->commandArgs(1, argv);
    V@TOP@* top = new V@TOP@{ctx};
    std::vector<long long> first_in(frames, -1), first_out(frames, -1), last_out(frames, -1);
    const int NMON = @NMON@;
    long long mon_max[NMON > 0 ? NMON : 1] = {0};

    top->ap_clk = 0; top->ap_rst_n = 0; top->s_axis_tvalid = 0; top->m_axis_tready = 0;
    for (int i = 0; i < 4; i++) { top->ap_clk = 1; top->eval(); top->ap_clk = 0; top->eval(); }
    top->ap_rst_n = 1; top->eval();

    long long cyc = 0, ii = 0, oi = 0, idle = 0;
    const char* status = "ok";
    while (oi < n_out) {
        bool v = ii < n_in && !(gap && (int)(rnd() % 1000) < gap);
        top->s_axis_tvalid = v;
        if (v) set_in(top, &in[(size_t)ii * IN_NB]);
        top->m_axis_tready = !(bp && (int)(rnd() % 1000) < bp);
        top->eval();
        bool fin = v && top->s_axis_tready;
        bool fout = top->m_axis_tvalid && top->m_axis_tready;
@MONITORS@
        if (fin) {
            long long fr = ii / in_pf;
            if (fr < frames && first_in[fr] < 0) first_in[fr] = cyc;
            ii++;
        }
        if (fout) {
            get_out(top, &out[(size_t)oi * OUT_NB]);
            long long fr = oi / out_pf;
            if (first_out[fr] < 0) first_out[fr] = cyc;
            last_out[fr] = cyc;
            oi++;
        }
        idle = (fin || fout@PROGRESS@) ? 0 : idle + 1;
        top->ap_clk = 1; top->eval(); top->ap_clk = 0;
        cyc++;
        if (idle > stall_limit) { status = "deadlock"; break; }
        if (max_cycles > 0 && cyc >= max_cycles) { status = "timeout"; break; }
    }
    top->eval();
    // the handshakes as the run left them (before the AXI-lite readback's soft reset clears them)
    uint8_t dbg[@DBG_NB@ > 0 ? @DBG_NB@ : 1] = {0};
    get_dbg(top, dbg);
    long long axil[5] = {-1, -1, -1, -1, -1};
@AXIL@

    f = fopen(out_path, "wb");
    if (f) { fwrite(out.data(), 1, (size_t)oi * OUT_NB, f); fclose(f); }
    f = fopen(stats_path, "w");
    if (!f) return 2;
    fprintf(f, "{\"status\": \"%s\", \"cycles\": %lld, \"in_words\": %lld, \"out_words\": %lld,\n", status, cyc, ii, oi);
    auto arr = [&](const char* name, std::vector<long long>& a) {
        fprintf(f, " \"%s\": [", name);
        for (size_t i = 0; i < a.size(); i++) fprintf(f, "%s%lld", i ? ", " : "", a[i]);
        fprintf(f, "],\n");
    };
    arr("first_in", first_in); arr("first_out", first_out); arr("last_out", last_out);
    fprintf(f, " \"mon_max\": [");
    for (int i = 0; i < NMON; i++) fprintf(f, "%s%lld", i ? ", " : "", mon_max[i]);
    fprintf(f, "],\n \"axil\": [%lld, %lld, %lld, %lld, %lld],\n \"dbg\": \"", axil[0], axil[1], axil[2], axil[3], axil[4]);
    for (int i = @DBG_NB@ - 1; i >= 0; i--) fprintf(f, "%02x", dbg[i]);
    fprintf(f, "\"}\n");
    fclose(f);
    top->final();
    delete top; delete ctx;
    return strcmp(status, "ok") == 0 ? 0 : 3;
}
