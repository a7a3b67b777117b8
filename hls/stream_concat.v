// stream_concat: channel concatenation of two streams (StreamingConcat), the skip join.
// Per pixel: CH0/PE words of input 0, then CH1/PE words of input 1, each element widened
// (sign- or zero-extended) to OUT_BITS. Input 0 is bits [0, PE*BITS0) of s_axis_tdata, input 1
// the bits above; bit k of tvalid/tready belongs to input k. One word per cycle; global stall
// on output backpressure.
module stream_concat #(
    parameter CH0 = 2,
    parameter CH1 = 2,
    parameter PE = 1,
    parameter BITS0 = 4,
    parameter SIGNED0 = 0,
    parameter BITS1 = 4,
    parameter SIGNED1 = 0,
    parameter OUT_BITS = 4,
    parameter NUM_PIXELS = 0        // informative (pixels per frame)
) (
    input  wire                         ap_clk,
    input  wire                         ap_rst_n,
    input  wire [PE*(BITS0+BITS1)-1:0]  s_axis_tdata,
    input  wire [1:0]                   s_axis_tvalid,
    output wire [1:0]                   s_axis_tready,
    output wire [PE*OUT_BITS-1:0]       m_axis_tdata,
    output wire                         m_axis_tvalid,
    input  wire                         m_axis_tready
);
    localparam CF0 = CH0 / PE;
    localparam CF1 = CH1 / PE;
    localparam CW = $clog2(CF0 + CF1 + 1);
    wire [PE*BITS0-1:0] in0 = s_axis_tdata[PE*BITS0-1:0];
    wire [PE*BITS1-1:0] in1 = s_axis_tdata[PE*(BITS0+BITS1)-1:PE*BITS0];

    reg [CW-1:0] cnt;               // word of the current pixel
    wire sel = (cnt >= CF0);
    reg [PE*OUT_BITS-1:0] out_q;
    reg out_valid;
    wire en = !out_valid || m_axis_tready;
    wire cur_valid = sel ? s_axis_tvalid[1] : s_axis_tvalid[0];
    wire take = en && cur_valid;
    assign s_axis_tready = {en && sel, en && !sel};
    assign m_axis_tdata = out_q;
    assign m_axis_tvalid = out_valid;

    wire [PE*OUT_BITS-1:0] w0, w1;
    genvar p;
    generate for (p = 0; p < PE; p = p + 1) begin : g_lane
        wire [BITS0-1:0] a = in0[p*BITS0 +: BITS0];
        wire [BITS1-1:0] b = in1[p*BITS1 +: BITS1];
        // widened through 64 bits (no zero-width replication when OUT_BITS equals the input's)
        wire [63:0] ax = {{(64-BITS0){SIGNED0 ? a[BITS0-1] : 1'b0}}, a};
        wire [63:0] bx = {{(64-BITS1){SIGNED1 ? b[BITS1-1] : 1'b0}}, b};
        assign w0[p*OUT_BITS +: OUT_BITS] = ax[OUT_BITS-1:0];
        assign w1[p*OUT_BITS +: OUT_BITS] = bx[OUT_BITS-1:0];
    end endgenerate

    always @(posedge ap_clk) begin
        if (!ap_rst_n) begin
            cnt <= 0;
            out_valid <= 1'b0;
        end else if (en) begin
            out_valid <= cur_valid;
            if (take) begin
                out_q <= sel ? w1 : w0;
                cnt <= (cnt == CF0 + CF1 - 1) ? {CW{1'b0}} : cnt + 1'b1;
            end
        end
    end
endmodule
