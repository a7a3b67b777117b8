// add_streams: elementwise join of two streams (AddStreams), the residual add.
// out[c] = LHS_SCALE*a[c] + RHS_SCALE*b[c] per element (integer multipliers that bring two
// quantizers' scales to a common one; 1 when they are equal). Both inputs carry PE elements per
// word (input 0 = lhs: bits [0, PE*LHS_BITS), input 1 = rhs: the bits above); the output
// PE elements of OUT_BITS (two's complement when signed), enough for the exact sum.
// One word per cycle when both inputs are valid; global stall on output backpressure.
module add_streams #(
    parameter PE = 1,
    parameter LHS_BITS = 4,
    parameter LHS_SIGNED = 0,
    parameter RHS_BITS = 4,
    parameter RHS_SIGNED = 0,
    parameter LHS_SCALE = 1,
    parameter RHS_SCALE = 1,
    parameter OUT_BITS = 5,
    parameter NUM_WORDS = 0         // informative (words per frame)
) (
    input  wire                              ap_clk,
    input  wire                              ap_rst_n,
    input  wire [PE*(LHS_BITS+RHS_BITS)-1:0] s_axis_tdata,
    input  wire [1:0]                        s_axis_tvalid,
    output wire [1:0]                        s_axis_tready,
    output wire [PE*OUT_BITS-1:0]            m_axis_tdata,
    output wire                              m_axis_tvalid,
    input  wire                              m_axis_tready
);
    localparam XW = 48;
    wire [PE*LHS_BITS-1:0] lhs = s_axis_tdata[PE*LHS_BITS-1:0];
    wire [PE*RHS_BITS-1:0] rhs = s_axis_tdata[PE*(LHS_BITS+RHS_BITS)-1:PE*LHS_BITS];
    wire both = s_axis_tvalid[0] & s_axis_tvalid[1];
    reg [PE*OUT_BITS-1:0] out_q;
    reg out_valid;
    wire en = !out_valid || m_axis_tready;
    assign s_axis_tready = {2{both & en}};
    assign m_axis_tdata = out_q;
    assign m_axis_tvalid = out_valid;

    wire [PE*OUT_BITS-1:0] sum;
    genvar p;
    generate for (p = 0; p < PE; p = p + 1) begin : g_lane
        wire [LHS_BITS-1:0] a = lhs[p*LHS_BITS +: LHS_BITS];
        wire [RHS_BITS-1:0] b = rhs[p*RHS_BITS +: RHS_BITS];
        wire signed [XW-1:0] ax = $signed({{(XW-LHS_BITS){LHS_SIGNED ? a[LHS_BITS-1] : 1'b0}}, a});
        wire signed [XW-1:0] bx = $signed({{(XW-RHS_BITS){RHS_SIGNED ? b[RHS_BITS-1] : 1'b0}}, b});
        wire signed [XW-1:0] s = ax * LHS_SCALE + bx * RHS_SCALE;
        assign sum[p*OUT_BITS +: OUT_BITS] = s[OUT_BITS-1:0];
    end endgenerate

    always @(posedge ap_clk) begin
        if (!ap_rst_n) begin
            out_valid <= 1'b0;
        end else if (en) begin
            out_valid <= both;
            if (both) out_q <= sum;
        end
    end
endmodule
