// mvau: matrix-vector-activation unit (MVAU). PE x SIMD integer MACs.
// Input: vectors of MW elements as SF=MW/SIMD words of SIMD x IN_BITS.
// Output: MH elements as NF=MH/PE words of PE x OUT_BITS (ACT_BITS, or ACC_BITS when
// ACT_BITS == 0: no activation, the raw signed accumulator).
// WEIGHT_FILE: NF*SF lines; line nf*SF+sf, element pe*SIMD+s = W[sf*SIMD+s, nf*PE+pe].
// THRESH_FILE: NF lines; line nf, element pe*N_THR+t = T[nf*PE+pe, t].
// The input vector is read during nf = 0 and replayed from a buffer for nf > 0, so the
// unit runs one (nf, sf) step per cycle: NF*SF cycles per vector. Five pipeline stages
// (ROM read / products / adder tree / accumulate / activation; six when SIMD > 16), global stall on output
// backpressure. Products and tree sums are registered so that the longest combinational path
// is one multiplier or one adder tree, not both plus the accumulator.
// EXT_WEIGHTS = 1 (mem_mode=external): no weight ROM; the weight words (same order as the
// lines of WEIGHT_FILE, NF*SF per input vector, repeated for every vector) arrive on the
// extra AXI-stream s_axis_w (tie its tvalid to 0 when EXT_WEIGHTS = 0).
// RES_DSP = 1 (resType=dsp): multipliers meant for DSP slices, 0: for LUTs.
// LUT_BITPLANE = 1 (with RES_DSP = 0): no multipliers. Per PE and input bit b, the sum over the lanes
// of (x_s[b] ? w_s : 0) (the AND sits in the first adder level's LUTs, registered), one adder tree
// per bit plane of W_BITS+1-bit pairs, then sum_b 2^b * plane_b (the MSB plane negative for signed
// inputs): about IN_BITS*(W_BITS+1) LUTs per MAC instead of a multiplier plus a wider tree leaf.
// DSP_PACK = K >= 2 (with RES_DSP = 1): one DSP slice per K PEs and input lane (hls/dsp_pack.v): the
// K products of offset weights w + 2^(W_BITS-1) go through the adder trees and each tree subtracts
// 2^(W_BITS-1) * sum(x) (one shared tree over the input lanes), exact modulo 2^TSW.
module mvau #(
    parameter MW = 4,
    parameter MH = 4,
    parameter PE = 1,
    parameter SIMD = 1,
    parameter IN_BITS = 4,
    parameter IN_SIGNED = 0,
    parameter W_BITS = 4,
    parameter ACC_BITS = 16,
    parameter ACT_BITS = 4,
    parameter THR_BITS = 16,
    parameter ACT_BIAS = 0,
    parameter WEIGHT_FILE = "",
    parameter THRESH_FILE = "",
    parameter EXT_WEIGHTS = 0,
    parameter RES_DSP = 0,
    parameter DSP_PACK = 1,
    parameter LUT_BITPLANE = 0,
    parameter RAM_STYLE = "auto"
) (
    input  wire                                         ap_clk,
    input  wire                                         ap_rst_n,
    input  wire [SIMD*IN_BITS-1:0]                      s_axis_tdata,
    input  wire                                         s_axis_tvalid,
    output wire                                         s_axis_tready,
    output wire [PE*((ACT_BITS > 0) ? ACT_BITS : ACC_BITS)-1:0] m_axis_tdata,
    output wire                                         m_axis_tvalid,
    input  wire                                         m_axis_tready,
    input  wire [PE*SIMD*W_BITS-1:0]                    s_axis_w_tdata,
    input  wire                                         s_axis_w_tvalid,
    output wire                                         s_axis_w_tready
);
    localparam OUT_BITS = (ACT_BITS > 0) ? ACT_BITS : ACC_BITS;
    localparam NF = MH / PE;
    localparam SF = MW / SIMD;
    localparam WW = PE * SIMD * W_BITS;
    localparam XWORD = SIMD * IN_BITS;
    localparam NFW = (NF > 1) ? $clog2(NF) : 1;
    localparam XW = IN_BITS + 1;
    // exact product width: x (IN_BITS, unsigned or signed) times w (W_BITS, signed) fits
    // IN_BITS+W_BITS. On DSPs (RES_DSP = 1) one more bit: Yosys maps a multiplier to a DSP slice
    // only when its product is at least 9 bits wide.
    localparam PACKED = (RES_DSP != 0) && (DSP_PACK > 1);
    localparam PW = IN_BITS + W_BITS + ((RES_DSP != 0) ? 1 : 0);
    localparam NG = (PE + DSP_PACK - 1) / DSP_PACK;              // DSP slices per input lane when packed
    localparam BITPLANE = (RES_DSP == 0) && (LUT_BITPLANE != 0);
    localparam NH = (SIMD + 1) / 2;                             // bit-plane pairs per PE and plane
    localparam L1W = W_BITS + 1;
    localparam BTW = L1W + ((NH > 1) ? $clog2(NH) : 0);         // bit-plane tree output width
    localparam TSW = PW + ((SIMD > 1) ? $clog2(SIMD) : 0);    // adder tree output width
    localparam TREE_REG_AT = 16;                                // subtree size registered in big trees
    localparam TREE_LAT = (SIMD > TREE_REG_AT) ? 1 : 0;
    localparam N_THR = (ACT_BITS > 0) ? (1 << ACT_BITS) - 1 : 1;
    localparam TW = PE * N_THR * THR_BITS;

    // ---- weight ROM, sequencer, input buffer, stage A (hls/mvau_ctrl.v) ----
    reg out_valid;
    wire en = !out_valid || m_axis_tready;
    wire [WW-1:0] w_q;
    wire [XWORD-1:0] x;
    wire a_valid, a_first, a_last;
    wire [NFW-1:0] a_nf;
    mvau_ctrl #(.NF(NF), .SF(SF), .WW(WW), .XWORD(XWORD), .WEIGHT_FILE(WEIGHT_FILE), .EXT_WEIGHTS(EXT_WEIGHTS),
                .RAM_STYLE(RAM_STYLE), .NFW(NFW)) u_ctrl (
        .ap_clk(ap_clk), .ap_rst_n(ap_rst_n), .en(en),
        .s_axis_tdata(s_axis_tdata), .s_axis_tvalid(s_axis_tvalid), .s_axis_tready(s_axis_tready),
        .s_axis_w_tdata(s_axis_w_tdata), .s_axis_w_tvalid(s_axis_w_tvalid), .s_axis_w_tready(s_axis_w_tready),
        .w_q(w_q), .x(x), .a_valid(a_valid), .a_first(a_first), .a_last(a_last), .a_nf(a_nf));

    // ---- stage M: PE x SIMD products (exact width, registered) ----
    wire [PE*SIMD*PW-1:0] prod_q;
    wire [PE*IN_BITS*NH*L1W-1:0] l1;                             // bit-plane first level (LUT_BITPLANE)
    reg m_valid, m_first, m_last;
    reg [NFW-1:0] m_nf;
    genvar gp, gs, gk;
    generate if (PACKED) begin : g_packed
        // NG slices per lane, each K = DSP_PACK PEs; fields past PE get w = -2^(W_BITS-1) (w' = 0)
        for (gp = 0; gp < NG; gp = gp + 1) begin : g_grp
            for (gs = 0; gs < SIMD; gs = gs + 1) begin : g_simd
                wire [DSP_PACK*W_BITS-1:0] wg;
                wire [DSP_PACK*PW-1:0] pg;
                for (gk = 0; gk < DSP_PACK; gk = gk + 1) begin : g_k
                    if (gp*DSP_PACK + gk < PE) begin : g_w
                        assign wg[gk*W_BITS +: W_BITS] = w_q[((gp*DSP_PACK + gk)*SIMD + gs)*W_BITS +: W_BITS];
                        assign prod_q[((gp*DSP_PACK + gk)*SIMD + gs)*PW +: PW] = pg[gk*PW +: PW];
                    end else begin : g_pad
                        assign wg[gk*W_BITS +: W_BITS] = {1'b1, {(W_BITS - 1){1'b0}}};
                    end
                end
                dsp_pack #(.K(DSP_PACK), .W_BITS(W_BITS), .IN_BITS(IN_BITS), .IN_SIGNED(IN_SIGNED), .PW(PW)) u_mul
                    (.clk(ap_clk), .en(en), .w(wg), .x(x[gs*IN_BITS +: IN_BITS]), .p(pg));
            end
        end
    end else if (BITPLANE) begin : g_bitplane
        // first adder level of every bit plane, registered: pairs of gated weights
        for (gp = 0; gp < PE; gp = gp + 1) begin : g_pe
            for (gk = 0; gk < IN_BITS; gk = gk + 1) begin : g_b
                for (gs = 0; gs < NH; gs = gs + 1) begin : g_pair
                    wire signed [L1W-1:0] w0 = $signed(w_q[(gp*SIMD + 2*gs)*W_BITS +: W_BITS]);
                    wire signed [L1W-1:0] g0 = x[(2*gs)*IN_BITS + gk] ? w0 : {L1W{1'b0}};
                    wire signed [L1W-1:0] g1;
                    if (2*gs + 1 < SIMD) begin : g_two
                        wire signed [L1W-1:0] w1 = $signed(w_q[(gp*SIMD + 2*gs + 1)*W_BITS +: W_BITS]);
                        assign g1 = x[(2*gs + 1)*IN_BITS + gk] ? w1 : {L1W{1'b0}};
                    end else begin : g_one
                        assign g1 = {L1W{1'b0}};
                    end
                    reg [L1W-1:0] l1_q;
                    always @(posedge ap_clk) if (en) l1_q <= g0 + g1;
                    assign l1[((gp*IN_BITS + gk)*NH + gs)*L1W +: L1W] = l1_q;
                end
            end
        end
    end else begin : g_unpacked
        for (gp = 0; gp < PE; gp = gp + 1) begin : g_pe
            for (gs = 0; gs < SIMD; gs = gs + 1) begin : g_simd
                wire signed [XW-1:0] xs = {(IN_SIGNED != 0) ? x[gs*IN_BITS + IN_BITS - 1] : 1'b0,
                                           x[gs*IN_BITS +: IN_BITS]};
                wire signed [W_BITS-1:0] ws = w_q[(gp*SIMD + gs)*W_BITS +: W_BITS];
                (* use_dsp = (RES_DSP != 0) ? "yes" : "no" *) wire signed [PW-1:0] pr = xs * ws;
                reg [PW-1:0] pr_q;
                always @(posedge ap_clk) if (en) pr_q <= pr;
                assign prod_q[(gp*SIMD + gs)*PW +: PW] = pr_q;
            end
        end
    end endgenerate

    // packed: 2^(W_BITS-1) * sum of the input lanes, subtracted from every PE's tree (same latency)
    wire [TSW-1:0] xsum;
    generate if (PACKED) begin : g_xsum
        localparam XSW = XW + ((SIMD > 1) ? $clog2(SIMD) : 0);
        reg [XWORD-1:0] x_q;
        wire [SIMD*XW-1:0] xl;
        wire [XSW-1:0] xt;
        for (gs = 0; gs < SIMD; gs = gs + 1) begin : g_xl
            assign xl[gs*XW +: XW] = {(IN_SIGNED != 0) ? x_q[gs*IN_BITS + IN_BITS - 1] : 1'b0, x_q[gs*IN_BITS +: IN_BITS]};
        end
        always @(posedge ap_clk) if (en) x_q <= x;
        add_tree #(.N(SIMD), .IN_W(XW), .OUT_W(XSW), .REG_AT(TREE_REG_AT)) u_xtree
            (.clk(ap_clk), .en(en), .in(xl), .out(xt));
        wire signed [TSW-1:0] xt_x = $signed(xt);
        assign xsum = xt_x << (W_BITS - 1);
    end else begin : g_noxsum
        assign xsum = {TSW{1'b0}};
    end endgenerate

    // ---- stage P: one adder tree per PE (registered; trees of more than TREE_REG_AT inputs
    // also register their subtrees of TREE_REG_AT inputs: one more stage, shorter paths) ----
    reg [PE*TSW-1:0] tsum_q;
    reg p_valid, p_first, p_last;
    reg [NFW-1:0] p_nf;
    generate
        for (gp = 0; gp < PE; gp = gp + 1) begin : g_tree
            wire [TSW-1:0] t;
            if (BITPLANE) begin : g_bp
                // one tree per bit plane (subtrees registered at REG_AT/2 pairs: the same latency)
                wire [IN_BITS*TSW-1:0] part;
                for (gk = 0; gk < IN_BITS; gk = gk + 1) begin : g_b
                    wire [BTW-1:0] tb;
                    add_tree #(.N(NH), .IN_W(L1W), .OUT_W(BTW), .REG_AT(TREE_REG_AT / 2)) u_tree
                        (.clk(ap_clk), .en(en), .in(l1[(gp*IN_BITS + gk)*NH*L1W +: NH*L1W]), .out(tb));
                    wire signed [TSW-1:0] tbx = $signed(tb);
                    wire [TSW-1:0] sh = tbx << gk;
                    if (gk == 0) begin : g_first
                        assign part[0 +: TSW] = sh;
                    end else if (gk == IN_BITS - 1 && IN_SIGNED != 0) begin : g_neg
                        assign part[gk*TSW +: TSW] = part[(gk-1)*TSW +: TSW] - sh;
                    end else begin : g_pos
                        assign part[gk*TSW +: TSW] = part[(gk-1)*TSW +: TSW] + sh;
                    end
                end
                assign t = part[(IN_BITS-1)*TSW +: TSW];
            end else begin : g_mul
                add_tree #(.N(SIMD), .IN_W(PW), .OUT_W(TSW), .REG_AT(TREE_REG_AT)) u_tree
                    (.clk(ap_clk), .en(en), .in(prod_q[gp*SIMD*PW +: SIMD*PW]), .out(t));
            end
            always @(posedge ap_clk) if (en) tsum_q[gp*TSW +: TSW] <= t - xsum;
        end
    endgenerate

    // control of the products, delayed by the tree's own register stage when it has one
    reg mt_valid_q, mt_first_q, mt_last_q;
    reg [NFW-1:0] mt_nf_q;
    wire mt_valid = TREE_LAT ? mt_valid_q : m_valid;
    wire mt_first = TREE_LAT ? mt_first_q : m_first;
    wire mt_last = TREE_LAT ? mt_last_q : m_last;
    wire [NFW-1:0] mt_nf = TREE_LAT ? mt_nf_q : m_nf;

    always @(posedge ap_clk) begin
        if (!ap_rst_n) begin
            m_valid <= 1'b0; m_first <= 1'b0; m_last <= 1'b0; m_nf <= 0;
            mt_valid_q <= 1'b0; mt_first_q <= 1'b0; mt_last_q <= 1'b0; mt_nf_q <= 0;
            p_valid <= 1'b0; p_first <= 1'b0; p_last <= 1'b0; p_nf <= 0;
        end else if (en) begin
            m_valid <= a_valid; m_first <= a_first; m_last <= a_last; m_nf <= a_nf;
            mt_valid_q <= m_valid; mt_first_q <= m_first; mt_last_q <= m_last; mt_nf_q <= m_nf;
            p_valid <= mt_valid; p_first <= mt_first; p_last <= mt_last; p_nf <= mt_nf;
        end
    end

    // ---- stage B: accumulation ----
    reg [PE*ACC_BITS-1:0] acc, res;
    wire [PE*ACC_BITS-1:0] sum;
    reg b_valid;
    generate
        for (gp = 0; gp < PE; gp = gp + 1) begin : g_acc
            wire signed [ACC_BITS-1:0] t = $signed(tsum_q[gp*TSW +: TSW]);
            assign sum[gp*ACC_BITS +: ACC_BITS] = (p_first ? {ACC_BITS{1'b0}} : acc[gp*ACC_BITS +: ACC_BITS]) + t;
        end
    endgenerate

    always @(posedge ap_clk) begin
        if (en && p_valid) begin
            acc <= sum;
            if (p_last) res <= sum;
        end
    end

    // ---- stage C: activation ----
    reg [PE*OUT_BITS-1:0] out_q;
    assign m_axis_tdata = out_q;
    assign m_axis_tvalid = out_valid;

    generate if (ACT_BITS > 0) begin : g_act
        reg [TW-1:0] tmem [0:NF-1];
        if (THRESH_FILE != "") begin : g_tinit
            initial $readmemh(THRESH_FILE, tmem);
        end
        reg [TW-1:0] thr_q;
        always @(posedge ap_clk) if (en && p_valid && p_last) thr_q <= tmem[p_nf];
        wire [PE*ACT_BITS-1:0] y;
        thresh_core #(.PE(PE), .V_BITS(ACC_BITS), .V_SIGNED(1), .THR_BITS(THR_BITS),
                      .ACT_BITS(ACT_BITS), .ACT_BIAS(ACT_BIAS)) u_thr (.v(res), .thr(thr_q), .y(y));
        always @(posedge ap_clk) if (en && b_valid) out_q <= y;
    end else begin : g_noact
        always @(posedge ap_clk) if (en && b_valid) out_q <= res;
    end endgenerate

    always @(posedge ap_clk) begin
        if (!ap_rst_n) begin
            b_valid <= 1'b0; out_valid <= 1'b0;
        end else if (en) begin
            b_valid <= p_valid && p_last;
            out_valid <= b_valid;
        end
    end
endmodule
