// dsp_pack: K products w_k * x of one multiplier (one DSP48E1/DSP48E2 slice), weights packed into the
// wide operand. Used by mvau with DSP_PACK = K >= 2.
// Each weight is offset to unsigned, w'_k = w_k + 2^(W_BITS-1) (its MSB inverted: no logic), and put in
// a field of S = W_BITS + IN_BITS bits: A = sum_k w'_k * 2^(k*S), a plain concatenation. Then
// A * x = sum_k (w'_k * x) * 2^(k*S) exactly, and every w'_k * x fits S bits (unsigned for unsigned x,
// two's complement for signed x), so the fields are the products: sliced as they are for unsigned x;
// for signed x a negative field borrows one from the field above, which gets it back (+ the MSB of the
// field below). Outputs p_k = w'_k * x (PW >= S + 1 bits, signed); the caller subtracts
// 2^(W_BITS-1) * x (once per input lane for all PEs: mvau subtracts 2^(W_BITS-1) * sum(x) per tree).
// A is (K-1)*S + W_BITS bits unsigned, so a DSP48E1 (25x18 signed) takes (K-1)*S + W_BITS + 1 <= 25,
// IN_BITS + 1 <= 18: e.g. K = 3 at W4A4, 2 at W8A8, 6 at W2A2 (max_dsp_pack in compiler/hw/mvau.py).
// The product is registered (enable `en`): latency 1, absorbed into the DSP's M/P register.
module dsp_pack #(
    parameter K = 3,
    parameter W_BITS = 4,
    parameter IN_BITS = 4,
    parameter IN_SIGNED = 0,
    parameter PW = W_BITS + IN_BITS + 1
) (
    input  wire                  clk,
    input  wire                  en,
    input  wire [K*W_BITS-1:0]   w,
    input  wire [IN_BITS-1:0]    x,
    output wire [K*PW-1:0]       p
);
    localparam S = W_BITS + IN_BITS;
    localparam AW = (K - 1) * S + W_BITS;
    localparam PWID = K * S;

    wire [AW-1:0] a;
    genvar k;
    generate
        for (k = 0; k < K; k = k + 1) begin : g_field
            assign a[k*S +: W_BITS] = {~w[k*W_BITS + W_BITS - 1], w[k*W_BITS +: W_BITS - 1]};
            if (k < K - 1) begin : g_pad
                assign a[k*S + W_BITS +: S - W_BITS] = {(S - W_BITS){1'b0}};
            end
        end
    endgenerate

    wire signed [AW:0] as = {1'b0, a};
    wire signed [IN_BITS:0] xs = {(IN_SIGNED != 0) ? x[IN_BITS-1] : 1'b0, x};
    (* use_dsp = "yes" *) wire signed [PWID-1:0] prod = as * xs;
    reg [PWID-1:0] prod_q;
    always @(posedge clk) if (en) prod_q <= prod;

    generate
        for (k = 0; k < K; k = k + 1) begin : g_out
            wire [S-1:0] f = prod_q[k*S +: S];
            if (IN_SIGNED == 0) begin : g_u
                assign p[k*PW +: PW] = {{(PW - S){1'b0}}, f};
            end else if (k == 0) begin : g_s0
                assign p[k*PW +: PW] = {{(PW - S){f[S-1]}}, f};
            end else begin : g_s
                wire signed [PW-1:0] fx = {{(PW - S){f[S-1]}}, f};
                assign p[k*PW +: PW] = fx + {{(PW - 1){1'b0}}, prod_q[k*S - 1]};
            end
        end
    endgenerate
endmodule
