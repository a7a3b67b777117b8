// memstream: AXI-stream source that plays a $readmemh file of DEPTH words of WIDTH bits in a
// loop (one word per cycle, full backpressure). In rtlsim it stands in for the DMA that
// streams an MVAU's weights from DRAM (mem_mode=external).
module memstream #(
    parameter WIDTH = 8,
    parameter DEPTH = 2,
    parameter INIT_FILE = ""
) (
    input  wire             ap_clk,
    input  wire             ap_rst_n,
    output wire [WIDTH-1:0] m_axis_tdata,
    output wire             m_axis_tvalid,
    input  wire             m_axis_tready
);
    localparam AW = (DEPTH > 1) ? $clog2(DEPTH) : 1;
    reg [WIDTH-1:0] mem [0:DEPTH-1];
    generate if (INIT_FILE != "") begin : g_init
        initial $readmemh(INIT_FILE, mem);
    end endgenerate
    reg [AW-1:0] addr;
    reg [WIDTH-1:0] out_q;
    reg out_valid;
    wire en = !out_valid || m_axis_tready;
    assign m_axis_tdata = out_q;
    assign m_axis_tvalid = out_valid;
    always @(posedge ap_clk) if (en) out_q <= mem[addr];
    always @(posedge ap_clk) begin
        if (!ap_rst_n) begin
            addr <= 0; out_valid <= 1'b0;
        end else if (en) begin
            out_valid <= 1'b1;
            addr <= (addr == DEPTH - 1) ? {AW{1'b0}} : addr + 1'b1;
        end
    end
endmodule
