// vvau: vector-vector activation unit (VVAU), the depthwise convolution after an SWG.
// Input: the SWG's window stream, per output pixel K/SIMD words per channel fold in (kk, cf)
// order (kernel group outer, channel fold inner; element s*PE + p of a word = channel cf*PE+p of
// kernel position kk*SIMD+s). SIMD > 1 is legal with PE = CH only (the compiler checks it): then a
// word is SIMD whole positions, contiguous in the SWG's (k, c) order.
// acc[c] = sum_k x[k, c] * W[c, k]; after the last kernel position the PE accumulators of the
// fold leave through the thresholds: out[c] = ACT_BIAS + sum_t [acc[c] >= T[c, t]] (ACT_BITS = 0:
// no activation, the output is acc, signed ACC_BITS).
// WEIGHT_FILE: (K/SIMD)*CF lines, line kk*CF + cf, element s*PE + pe = W[cf*PE+pe, kk*SIMD+s]
// (signed W_BITS).
// THRESH_FILE: CF lines, line cf, element pe*N_THR + t = T[cf*PE+pe, t] (signed THR_BITS).
// One input word per cycle; CF partial sums kept in a small memory; global stall on backpressure.
module vvau #(
    parameter CH = 4,
    parameter PE = 1,
    parameter SIMD = 1,             // kernel positions per word (FINN's VVAU SIMD)
    parameter K = 9,
    parameter NUM_VECTORS = 1,      // informative
    parameter IN_BITS = 4,
    parameter IN_SIGNED = 0,
    parameter W_BITS = 4,
    parameter ACC_BITS = 12,
    parameter ACT_BITS = 4,
    parameter THR_BITS = 12,
    parameter ACT_BIAS = 0,
    parameter WEIGHT_FILE = "",
    parameter THRESH_FILE = ""
) (
    input  wire                   ap_clk,
    input  wire                   ap_rst_n,
    input  wire [SIMD*PE*IN_BITS-1:0] s_axis_tdata,
    input  wire                   s_axis_tvalid,
    output wire                   s_axis_tready,
    output wire [PE*(ACT_BITS > 0 ? ACT_BITS : ACC_BITS)-1:0] m_axis_tdata,
    output wire                   m_axis_tvalid,
    input  wire                   m_axis_tready
);
    localparam CF = CH / PE;
    localparam N_THR = (ACT_BITS > 0) ? (1 << ACT_BITS) - 1 : 1;
    localparam OB = (ACT_BITS > 0) ? ACT_BITS : ACC_BITS;
    localparam KG = K / SIMD;       // words per channel fold and pixel
    localparam KW = $clog2(KG + 1);
    localparam FW = (CF > 1) ? $clog2(CF) : 1;

    reg [SIMD*PE*W_BITS-1:0] wmem [0:KG*CF-1];
    reg [PE*N_THR*THR_BITS-1:0] tmem [0:CF-1];
    reg [PE*ACC_BITS-1:0] amem [0:CF-1];
    generate if (WEIGHT_FILE != "") begin : g_winit
        initial $readmemh(WEIGHT_FILE, wmem);
    end endgenerate
    generate if (THRESH_FILE != "" && ACT_BITS > 0) begin : g_tinit
        initial $readmemh(THRESH_FILE, tmem);
    end endgenerate

    reg [KW-1:0] k;
    reg [FW-1:0] cf;
    reg a_valid, b_valid;
    reg [FW-1:0] a_cf;
    reg [PE*ACC_BITS-1:0] a_acc;
    reg [PE*OB-1:0] b_out;

    wire en = !b_valid || m_axis_tready;
    wire take = en && s_axis_tvalid;
    assign s_axis_tready = en;
    assign m_axis_tdata = b_out;
    assign m_axis_tvalid = b_valid;

    wire [SIMD*PE*W_BITS-1:0] w_word = wmem[k * CF + cf];
    wire [PE*ACC_BITS-1:0] acc_old = amem[cf];
    wire [PE*ACC_BITS-1:0] acc_new;
    wire [PE*OB-1:0] act;
    wire [PE*N_THR*THR_BITS-1:0] thr_word = tmem[a_cf];

    genvar p, t, s;
    generate for (p = 0; p < PE; p = p + 1) begin : g_lane
        wire signed [ACC_BITS-1:0] prev = (k == 0) ? {ACC_BITS{1'b0}} : acc_old[p*ACC_BITS +: ACC_BITS];
        // modulo 2^ACC_BITS partial sums: exact, as the final sum's range fits ACC_BITS
        wire signed [ACC_BITS-1:0] psum [0:SIMD];
        assign psum[0] = prev;
        for (s = 0; s < SIMD; s = s + 1) begin : g_simd
            wire [IN_BITS-1:0] xr = s_axis_tdata[(s*PE+p)*IN_BITS +: IN_BITS];
            wire signed [IN_BITS:0] x = IN_SIGNED ? $signed({xr[IN_BITS-1], xr}) : $signed({1'b0, xr});
            wire signed [W_BITS-1:0] w = w_word[(s*PE+p)*W_BITS +: W_BITS];
            wire signed [IN_BITS+W_BITS:0] prod = x * w;
            wire signed [ACC_BITS-1:0] prod_a = prod;  // sign-extended (or cut, see above)
            assign psum[s+1] = psum[s] + prod_a;
        end
        assign acc_new[p*ACC_BITS +: ACC_BITS] = psum[SIMD];
        wire signed [ACC_BITS-1:0] a = a_acc[p*ACC_BITS +: ACC_BITS];
        if (ACT_BITS > 0) begin : g_act
            wire [N_THR-1:0] ge;
            for (t = 0; t < N_THR; t = t + 1) begin : g_thr
                wire signed [THR_BITS-1:0] th = thr_word[(p*N_THR+t)*THR_BITS +: THR_BITS];
                wire signed [63:0] a64 = a;
                wire signed [63:0] th64 = th;
                assign ge[t] = a64 >= th64;
            end
            integer i;
            reg [ACT_BITS:0] cnt;
            always @* begin
                cnt = 0;
                for (i = 0; i < N_THR; i = i + 1) cnt = cnt + ge[i];
            end
            wire [ACT_BITS+31:0] o = ACT_BIAS + cnt;
            assign act[p*OB +: OB] = o[OB-1:0];
        end else begin : g_noact
            assign act[p*OB +: OB] = a;
        end
    end endgenerate

    always @(posedge ap_clk) begin
        if (take) amem[cf] <= acc_new;
        if (en) begin
            a_acc <= acc_new;
            a_cf <= cf;
            b_out <= act;
        end
    end

    always @(posedge ap_clk) begin
        if (!ap_rst_n) begin
            k <= 0; cf <= 0; a_valid <= 1'b0; b_valid <= 1'b0;
        end else if (en) begin
            a_valid <= take && (k == KG - 1);
            b_valid <= a_valid;
            if (take) begin
                if (cf == CF - 1) begin
                    cf <= 0;
                    k <= (k == KG - 1) ? {KW{1'b0}} : k + 1'b1;
                end else begin
                    cf <= cf + 1'b1;
                end
            end
        end
    end
endmodule
