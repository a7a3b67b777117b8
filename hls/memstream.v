// memstream: AXI-stream source that plays a $readmemh file of DEPTH words of WIDTH bits in a
// loop (full backpressure). In rtlsim it stands in for the DMA that streams an MVAU's weights
// from DRAM (mem_mode=external).
// RATE_NUM / RATE_DEN: the DRAM bytes per cycle this stream is granted (0 = one word per cycle,
// an ideal stream). A credit counter gains RATE_NUM per cycle and a word costs
// WORD_BYTES * RATE_DEN, so the long-run rate is RATE_NUM / (RATE_DEN * WORD_BYTES) words per
// cycle; credit saved while the consumer stalls is capped at BURST_WORDS words (a small DMA FIFO).
module memstream #(
    parameter WIDTH = 8,
    parameter DEPTH = 2,
    parameter INIT_FILE = "",
    parameter RATE_NUM = 0,
    parameter RATE_DEN = 1,
    parameter WORD_BYTES = (WIDTH + 7) / 8,
    parameter BURST_WORDS = 16
) (
    input  wire             ap_clk,
    input  wire             ap_rst_n,
    output wire [WIDTH-1:0] m_axis_tdata,
    output wire             m_axis_tvalid,
    input  wire             m_axis_tready
);
    localparam AW = (DEPTH > 1) ? $clog2(DEPTH) : 1;
    localparam [47:0] COST = WORD_BYTES * RATE_DEN;
    localparam [47:0] CAP = COST * BURST_WORDS;
    reg [WIDTH-1:0] mem [0:DEPTH-1];
    generate if (INIT_FILE != "") begin : g_init
        initial $readmemh(INIT_FILE, mem);
    end endgenerate
    reg [AW-1:0] addr;
    reg [WIDTH-1:0] out_q;
    reg out_valid;
    reg [47:0] credit;
    wire has_credit = (RATE_NUM == 0) || (credit >= COST);
    wire take = out_valid && m_axis_tready;
    wire load = (!out_valid || take) && has_credit;
    wire [47:0] credit_next = credit + RATE_NUM - (load ? COST : 48'd0);
    assign m_axis_tdata = out_q;
    assign m_axis_tvalid = out_valid;
    always @(posedge ap_clk) if (load) out_q <= mem[addr];
    always @(posedge ap_clk) begin
        if (!ap_rst_n) begin
            addr <= 0; out_valid <= 1'b0; credit <= 48'd0;
        end else begin
            if (load) begin
                out_valid <= 1'b1;
                addr <= (addr == DEPTH - 1) ? {AW{1'b0}} : addr + 1'b1;
            end else if (take) begin
                out_valid <= 1'b0;
            end
            credit <= (RATE_NUM == 0) ? 48'd0 : (credit_next > CAP ? CAP : credit_next);
        end
    end
endmodule
