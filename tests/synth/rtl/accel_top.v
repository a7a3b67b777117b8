// Stand-in for a codegen stitched top: literal AXI-stream widths, one mac_array inside.
module accel_top (
    input  wire        ap_clk,
    input  wire        ap_rst_n,
    input  wire [7:0]  s_axis_tdata,
    input  wire        s_axis_tvalid,
    output wire        s_axis_tready,
    output wire [47:0] m_axis_tdata,
    output wire        m_axis_tvalid,
    input  wire        m_axis_tready
);
    mac_array #(.PE(2), .A_BITS(8), .W_BITS(8), .ACC_BITS(24), .DEPTH(1024), .WEIGHT_FILE("weights.mem")) core (
        .ap_clk(ap_clk), .ap_rst_n(ap_rst_n),
        .s_axis_tdata(s_axis_tdata), .s_axis_tvalid(s_axis_tvalid), .s_axis_tready(s_axis_tready),
        .m_axis_tdata(m_axis_tdata), .m_axis_tvalid(m_axis_tvalid), .m_axis_tready(m_axis_tready)
    );
endmodule
