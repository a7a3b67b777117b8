// add_tree: the sum of N signed IN_W-bit values as a balanced binary tree whose adders grow
// one bit per level (IN_W + clog2(N) bits at the root), so each adder is only as wide as its
// operands need: the adder tree is most of an MVAU's LUTs. OUT_W >= IN_W + clog2(N) sign-extends.
// REG_AT > 0 and N > REG_AT: the outputs of the subtrees of at most REG_AT inputs are registered
// (enabled by `en`), one register on every input-to-output path: latency 1, the longest path
// about halved. Otherwise the tree is combinational (latency 0). PARENT_N is internal.
module add_tree #(
    parameter N = 4,
    parameter IN_W = 8,
    parameter OUT_W = IN_W + ((N > 1) ? $clog2(N) : 0),
    parameter REG_AT = 0,
    parameter PARENT_N = 0
) (
    input  wire              clk,
    input  wire              en,
    input  wire [N*IN_W-1:0] in,
    output wire [OUT_W-1:0]  out
);
    localparam REG_HERE = (REG_AT > 0) && (N <= REG_AT) && (PARENT_N > REG_AT);
    wire [OUT_W-1:0] s;
    generate if (N == 1) begin : g_leaf
        assign s = {{(OUT_W - IN_W){in[IN_W-1]}}, in};
    end else begin : g_node
        localparam NL = N / 2;
        localparam NH = N - NL;
        localparam WL = IN_W + ((NL > 1) ? $clog2(NL) : 0);
        localparam WH = IN_W + ((NH > 1) ? $clog2(NH) : 0);
        wire [WL-1:0] lo;
        wire [WH-1:0] hi;
        add_tree #(.N(NL), .IN_W(IN_W), .OUT_W(WL), .REG_AT(REG_AT), .PARENT_N(N)) u_lo
            (.clk(clk), .en(en), .in(in[NL*IN_W-1:0]), .out(lo));
        add_tree #(.N(NH), .IN_W(IN_W), .OUT_W(WH), .REG_AT(REG_AT), .PARENT_N(N)) u_hi
            (.clk(clk), .en(en), .in(in[N*IN_W-1:NL*IN_W]), .out(hi));
        wire signed [OUT_W-1:0] lo_x = $signed(lo);
        wire signed [OUT_W-1:0] hi_x = $signed(hi);
        assign s = lo_x + hi_x;
    end endgenerate
    generate if (REG_HERE) begin : g_reg
        reg [OUT_W-1:0] q;
        always @(posedge clk) if (en) q <= s;
        assign out = q;
    end else begin : g_comb
        assign out = s;
    end endgenerate
endmodule
