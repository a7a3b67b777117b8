// dwc: AXI-stream data-width converter (StreamingDataWidthConverter). Identity on the
// bit stream: input words are concatenated LSB-first and re-cut into OUT_WIDTH words.
// Any pair of widths (not only integer ratios); the stream must carry a whole number
// of output words per frame. One word per cycle on the narrower side. Integer ratios use
// constant shifts only; other pairs a bit buffer with a variable shift.
module dwc #(
    parameter IN_WIDTH  = 8,
    parameter OUT_WIDTH = 8,
    parameter NUM_IN_WORDS = 0      // informative (words per frame)
) (
    input  wire                 ap_clk,
    input  wire                 ap_rst_n,
    input  wire [IN_WIDTH-1:0]  s_axis_tdata,
    input  wire                 s_axis_tvalid,
    output wire                 s_axis_tready,
    output wire [OUT_WIDTH-1:0] m_axis_tdata,
    output wire                 m_axis_tvalid,
    input  wire                 m_axis_tready
);
    localparam BW = IN_WIDTH + OUT_WIDTH;     // buffer bits
    localparam CW = $clog2(BW + 1) + 1;

    generate if (IN_WIDTH == OUT_WIDTH) begin : g_pass
        assign m_axis_tdata  = s_axis_tdata;
        assign m_axis_tvalid = s_axis_tvalid;
        assign s_axis_tready = m_axis_tready;
    end else if (IN_WIDTH % OUT_WIDTH == 0) begin : g_down
        // integer down-conversion: load a word, shift out K slices (constant shifts, no barrel shifter)
        localparam K = IN_WIDTH / OUT_WIDTH;
        localparam KW = $clog2(K + 1);
        reg [IN_WIDTH-1:0] buf_q;
        reg [KW-1:0] left;                         // output slices left in buf_q
        wire out_fire = (left != 0) && m_axis_tready;
        assign s_axis_tready = (left == 0) || (left == 1 && m_axis_tready);
        assign m_axis_tvalid = (left != 0);
        assign m_axis_tdata  = buf_q[OUT_WIDTH-1:0];
        always @(posedge ap_clk) begin
            if (!ap_rst_n) begin
                left <= 0;
            end else if (s_axis_tvalid && s_axis_tready) begin
                buf_q <= s_axis_tdata;
                left <= K;
            end else if (out_fire) begin
                buf_q <= buf_q >> OUT_WIDTH;
                left <= left - 1'b1;
            end
        end
    end else if (OUT_WIDTH % IN_WIDTH == 0) begin : g_up
        // integer up-conversion: shift K input words in from the top (the first ends in the LSBs)
        localparam K = OUT_WIDTH / IN_WIDTH;
        localparam KW = $clog2(K + 1);
        reg [OUT_WIDTH-1:0] buf_q;
        reg [KW-1:0] have;                         // input words in buf_q
        wire out_fire = (have == K) && m_axis_tready;
        assign s_axis_tready = (have != K) || m_axis_tready;
        assign m_axis_tvalid = (have == K);
        assign m_axis_tdata  = buf_q;
        wire in_fire = s_axis_tvalid && s_axis_tready;
        always @(posedge ap_clk) begin
            if (!ap_rst_n) begin
                have <= 0;
            end else begin
                if (in_fire) buf_q <= {s_axis_tdata, buf_q[OUT_WIDTH-1:IN_WIDTH]};
                have <= (out_fire ? {KW{1'b0}} : have) + (in_fire ? 1'b1 : 1'b0);
            end
        end
    end else begin : g_conv
        reg [BW-1:0] buf_q;
        reg [CW-1:0] cnt;                          // valid bits in buf_q (LSB-aligned)
        wire out_fire = (cnt >= OUT_WIDTH) && m_axis_tready;
        wire [CW-1:0] cnt_after = out_fire ? cnt - OUT_WIDTH : cnt;
        wire room = (cnt_after + IN_WIDTH) <= BW;
        wire in_fire = s_axis_tvalid && room;
        wire [BW-1:0] shifted = out_fire ? (buf_q >> OUT_WIDTH) : buf_q;
        wire [BW-1:0] ins = {{(BW-IN_WIDTH){1'b0}}, s_axis_tdata} << cnt_after;

        assign s_axis_tready = room;
        assign m_axis_tvalid = (cnt >= OUT_WIDTH);
        assign m_axis_tdata  = buf_q[OUT_WIDTH-1:0];

        always @(posedge ap_clk) begin
            if (!ap_rst_n) begin
                cnt <= 0;
                buf_q <= {BW{1'b0}};
            end else begin
                buf_q <= in_fire ? (shifted | ins) : shifted;
                cnt <= cnt_after + (in_fire ? IN_WIDTH : 0);
            end
        end
    end endgenerate
endmodule
