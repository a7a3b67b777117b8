// fifo: AXI-stream FIFO (StreamingFIFO). Identity on the data, DEPTH words of storage
// plus one output register (capacity DEPTH+1). Synchronous-read memory (BRAM/LUTRAM
// inferable), one word per cycle in and out, full backpressure.
// `count` = words held (memory + output register), for FIFO sizing in rtlsim.
// RAM_STYLE "distributed" keeps the memory in LUTRAM (a wide, shallow FIFO would waste most
// of its BRAMs); "auto" leaves the choice to synthesis.
module fifo #(
    parameter WIDTH = 8,
    parameter DEPTH = 2,
    parameter RAM_STYLE = "auto"
) (
    input  wire             ap_clk,
    input  wire             ap_rst_n,
    input  wire [WIDTH-1:0] s_axis_tdata,
    input  wire             s_axis_tvalid,
    output wire             s_axis_tready,
    output wire [WIDTH-1:0] m_axis_tdata,
    output wire             m_axis_tvalid,
    input  wire             m_axis_tready,
    output wire [$clog2(DEPTH+2)-1:0] count
);
    localparam AW = (DEPTH > 1) ? $clog2(DEPTH) : 1;
    localparam CW = $clog2(DEPTH + 2);

    reg [AW-1:0] wptr, rptr;
    reg [CW-1:0] mcount;          // words in mem
    reg [WIDTH-1:0] odata;
    reg ovalid;

    wire wr = s_axis_tvalid && (mcount < DEPTH);
    wire rd = (mcount != 0) && (!ovalid || m_axis_tready);

    assign s_axis_tready = (mcount < DEPTH);
    assign m_axis_tdata  = odata;
    assign m_axis_tvalid = ovalid;
    assign count = mcount + {{(CW-1){1'b0}}, ovalid};

    generate if (RAM_STYLE == "distributed") begin : g_lutram
        (* ram_style = "distributed" *) reg [WIDTH-1:0] mem [0:DEPTH-1];
        always @(posedge ap_clk) begin
            if (wr) mem[wptr] <= s_axis_tdata;
            if (rd) odata <= mem[rptr];
        end
    end else begin : g_auto
        reg [WIDTH-1:0] mem [0:DEPTH-1];
        always @(posedge ap_clk) begin
            if (wr) mem[wptr] <= s_axis_tdata;
            if (rd) odata <= mem[rptr];
        end
    end endgenerate

    always @(posedge ap_clk) begin
        if (!ap_rst_n) begin
            wptr <= 0; rptr <= 0; mcount <= 0; ovalid <= 1'b0;
        end else begin
            if (wr) wptr <= (wptr == DEPTH - 1) ? {AW{1'b0}} : wptr + 1'b1;
            if (rd) rptr <= (rptr == DEPTH - 1) ? {AW{1'b0}} : rptr + 1'b1;
            mcount <= mcount + (wr ? 1'b1 : 1'b0) - (rd ? 1'b1 : 1'b0);
            if (rd) ovalid <= 1'b1;
            else if (m_axis_tready) ovalid <= 1'b0;
        end
    end
endmodule
