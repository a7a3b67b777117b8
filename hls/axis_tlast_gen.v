// axis_tlast_gen: adds TLAST on the last word of each output frame.
// AXI DMA's S2MM channel ends a transfer on TLAST; the accelerator's streams have none
// (used by the Vivado block design that fpga_flow.synth.vivado generates).
module axis_tlast_gen #(parameter WIDTH = 8, parameter WORDS = 1) (
    input  wire             ap_clk,
    input  wire             ap_rst_n,
    input  wire [WIDTH-1:0] s_axis_tdata,
    input  wire             s_axis_tvalid,
    output wire             s_axis_tready,
    output wire [WIDTH-1:0] m_axis_tdata,
    output wire             m_axis_tvalid,
    input  wire             m_axis_tready,
    output wire             m_axis_tlast
);
    localparam CW = (WORDS > 1) ? $clog2(WORDS) : 1;
    reg [CW-1:0] count;
    assign m_axis_tdata = s_axis_tdata;
    assign m_axis_tvalid = s_axis_tvalid;
    assign s_axis_tready = m_axis_tready;
    assign m_axis_tlast = (count == WORDS - 1);
    always @(posedge ap_clk) begin
        if (!ap_rst_n) count <= 0;
        else if (s_axis_tvalid && m_axis_tready) count <= (count == WORDS - 1) ? 0 : count + 1'b1;
    end
endmodule
