// mvau_binary: matrix-vector-activation unit with 1-bit (bipolar, +/-1) weights and no
// multipliers (hls/SPEC.md, MVAU_binary). A weight bit w means W = 2w-1. Two modes:
//  XNOR = 1 (FINN's binaryXnorMode): 1-bit inputs x (IN_BITS = 1, unsigned bits); each lane is
//           xnor(x, w) and the adder tree is a popcount: acc = sum_i [x_i == w_i].
//  XNOR = 0: multi-bit inputs (IN_BITS, unsigned or signed); each lane adds +x or -x (w = 1 / 0).
// ACC_INIT_FILE (optional): NF lines, line nf, element pe = the accumulator's start value for
// channel nf*PE+pe (signed ACC_BITS; 0 without the file), e.g. the -#{W = -1} that turns a
// popcount into sum_i x_i*W_i for 0/1 inputs. The compiler folds such offsets into the
// thresholds when there is an activation (FINN's adjusted thresholds).
// Everything else (files, folding, stream order, pipeline, EXT_WEIGHTS, ports) as hls/mvau.v:
// WEIGHT_FILE: NF*SF lines; line nf*SF+sf, element pe*SIMD+s = weight bit of W[sf*SIMD+s, nf*PE+pe].
// THRESH_FILE: NF lines; line nf, element pe*N_THR+t = T[nf*PE+pe, t] (on acc as computed here).
// NF*SF cycles per input vector.
module mvau_binary #(
    parameter MW = 4,
    parameter MH = 4,
    parameter PE = 1,
    parameter SIMD = 1,
    parameter IN_BITS = 4,
    parameter IN_SIGNED = 0,
    parameter XNOR = 0,
    parameter ACC_BITS = 16,
    parameter ACT_BITS = 4,
    parameter THR_BITS = 16,
    parameter ACT_BIAS = 0,
    parameter WEIGHT_FILE = "",
    parameter THRESH_FILE = "",
    parameter ACC_INIT_FILE = "",
    parameter EXT_WEIGHTS = 0
) (
    input  wire                                         ap_clk,
    input  wire                                         ap_rst_n,
    input  wire [SIMD*IN_BITS-1:0]                      s_axis_tdata,
    input  wire                                         s_axis_tvalid,
    output wire                                         s_axis_tready,
    output wire [PE*((ACT_BITS > 0) ? ACT_BITS : ACC_BITS)-1:0] m_axis_tdata,
    output wire                                         m_axis_tvalid,
    input  wire                                         m_axis_tready,
    input  wire [PE*SIMD-1:0]                           s_axis_w_tdata,
    input  wire                                         s_axis_w_tvalid,
    output wire                                         s_axis_w_tready
);
    localparam W_BITS = 1;
    localparam OUT_BITS = (ACT_BITS > 0) ? ACT_BITS : ACC_BITS;
    localparam NF = MH / PE;
    localparam SF = MW / SIMD;
    localparam WW = PE * SIMD * W_BITS;
    localparam XWORD = SIMD * IN_BITS;
    localparam NFW = (NF > 1) ? $clog2(NF) : 1;
    localparam XW = IN_BITS + 1;
    // lane value width: a popcount bit (as a non-negative 2-bit number) or +/-x (IN_BITS+1 bits)
    localparam PW = (XNOR != 0) ? 2 : IN_BITS + 1;
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
                .NFW(NFW)) u_ctrl (
        .ap_clk(ap_clk), .ap_rst_n(ap_rst_n), .en(en),
        .s_axis_tdata(s_axis_tdata), .s_axis_tvalid(s_axis_tvalid), .s_axis_tready(s_axis_tready),
        .s_axis_w_tdata(s_axis_w_tdata), .s_axis_w_tvalid(s_axis_w_tvalid), .s_axis_w_tready(s_axis_w_tready),
        .w_q(w_q), .x(x), .a_valid(a_valid), .a_first(a_first), .a_last(a_last), .a_nf(a_nf));

    // ---- stage M: PE x SIMD lane values (xnor bits or +/-x, registered) ----
    reg [PE*SIMD*PW-1:0] prod_q;
    reg m_valid, m_first, m_last;
    reg [NFW-1:0] m_nf;
    genvar gp, gs;
    generate
        for (gp = 0; gp < PE; gp = gp + 1) begin : g_pe
            for (gs = 0; gs < SIMD; gs = gs + 1) begin : g_simd
                wire wb = w_q[gp*SIMD + gs];
                wire [PW-1:0] pr;
                if (XNOR != 0) begin : g_xnor
                    assign pr = {1'b0, ~(x[gs] ^ wb)};
                end else begin : g_addsub
                    wire signed [XW-1:0] xs = {(IN_SIGNED != 0) ? x[gs*IN_BITS + IN_BITS - 1] : 1'b0,
                                               x[gs*IN_BITS +: IN_BITS]};
                    assign pr = wb ? xs : -xs;
                end
                always @(posedge ap_clk) if (en) prod_q[(gp*SIMD + gs)*PW +: PW] <= pr;
            end
        end
    endgenerate

    // ---- stage P: one adder tree per PE (registered; trees of more than TREE_REG_AT inputs
    // also register their subtrees of TREE_REG_AT inputs: one more stage, shorter paths) ----
    reg [PE*TSW-1:0] tsum_q;
    reg p_valid, p_first, p_last;
    reg [NFW-1:0] p_nf;
    generate
        for (gp = 0; gp < PE; gp = gp + 1) begin : g_tree
            wire [TSW-1:0] t;
            add_tree #(.N(SIMD), .IN_W(PW), .OUT_W(TSW), .REG_AT(TREE_REG_AT)) u_tree
                (.clk(ap_clk), .en(en), .in(prod_q[gp*SIMD*PW +: SIMD*PW]), .out(t));
            always @(posedge ap_clk) if (en) tsum_q[gp*TSW +: TSW] <= t;
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
    // start values of the accumulators (ACC_INIT_FILE), read while the first step of a channel
    // fold moves into stage P
    wire [PE*ACC_BITS-1:0] init;
    generate if (ACC_INIT_FILE != "") begin : g_init
        reg [PE*ACC_BITS-1:0] imem [0:NF-1];
        initial $readmemh(ACC_INIT_FILE, imem);
        reg [PE*ACC_BITS-1:0] init_q;
        always @(posedge ap_clk) if (en && mt_valid && mt_first) init_q <= imem[mt_nf];
        assign init = init_q;
    end else begin : g_noinit
        assign init = {PE*ACC_BITS{1'b0}};
    end endgenerate
    generate
        for (gp = 0; gp < PE; gp = gp + 1) begin : g_acc
            wire signed [ACC_BITS-1:0] t = $signed(tsum_q[gp*TSW +: TSW]);
            assign sum[gp*ACC_BITS +: ACC_BITS] = (p_first ? init[gp*ACC_BITS +: ACC_BITS]
                                                            : acc[gp*ACC_BITS +: ACC_BITS]) + t;
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
