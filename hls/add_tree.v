// add_tree: the sum of N signed IN_W-bit values as a balanced binary tree whose adders grow
// one bit per level (IN_W + clog2(N) bits at the root), so each adder is only as wide as its
// operands need: the adder tree is most of an MVAU's LUTs. OUT_W >= IN_W + clog2(N) sign-extends.
module add_tree #(
    parameter N = 4,
    parameter IN_W = 8,
    parameter OUT_W = IN_W + ((N > 1) ? $clog2(N) : 0)
) (
    input  wire [N*IN_W-1:0] in,
    output wire [OUT_W-1:0]  out
);
    generate if (N == 1) begin : g_leaf
        assign out = {{(OUT_W - IN_W){in[IN_W-1]}}, in};
    end else begin : g_node
        localparam NL = N / 2;
        localparam NH = N - NL;
        localparam WL = IN_W + ((NL > 1) ? $clog2(NL) : 0);
        localparam WH = IN_W + ((NH > 1) ? $clog2(NH) : 0);
        wire [WL-1:0] lo;
        wire [WH-1:0] hi;
        add_tree #(.N(NL), .IN_W(IN_W), .OUT_W(WL)) u_lo (.in(in[NL*IN_W-1:0]), .out(lo));
        add_tree #(.N(NH), .IN_W(IN_W), .OUT_W(WH)) u_hi (.in(in[N*IN_W-1:NL*IN_W]), .out(hi));
        wire signed [OUT_W-1:0] lo_x = $signed(lo);
        wire signed [OUT_W-1:0] hi_x = $signed(hi);
        assign out = lo_x + hi_x;
    end endgenerate
endmodule
