// Test design for the Yosys runner/parser: PE multiply-accumulate lanes fed by a weight ROM
// (block RAM), an input delay line in distributed RAM, and an AXI-stream-like valid/ready pair.
// Verilog-2005, ports as in hls/SPEC.md.
module mac_array #(
    parameter PE = 2,
    parameter A_BITS = 8,
    parameter W_BITS = 8,
    parameter ACC_BITS = 24,
    parameter DEPTH = 1024,
    parameter LINE = 32,
    parameter WEIGHT_FILE = ""
) (
    input  wire                   ap_clk,
    input  wire                   ap_rst_n,
    input  wire [A_BITS-1:0]      s_axis_tdata,
    input  wire                   s_axis_tvalid,
    output wire                   s_axis_tready,
    output wire [PE*ACC_BITS-1:0] m_axis_tdata,
    output reg                    m_axis_tvalid,
    input  wire                   m_axis_tready
);
    (* rom_style = "block" *) reg [PE*W_BITS-1:0] wmem [0:DEPTH-1];
    initial if (WEIGHT_FILE != "") $readmemh(WEIGHT_FILE, wmem);
    (* ram_style = "distributed" *) reg [A_BITS-1:0] line [0:LINE-1];

    reg [$clog2(DEPTH)-1:0] waddr;
    reg [$clog2(LINE)-1:0]  lptr;
    reg [PE*W_BITS-1:0]     w;
    reg [A_BITS-1:0]        a, a_old;
    reg                     v1, v2;
    reg [ACC_BITS-1:0]      acc [0:PE-1];

    wire fire = s_axis_tvalid && s_axis_tready;
    assign s_axis_tready = m_axis_tready || !m_axis_tvalid;

    always @(posedge ap_clk) begin
        if (fire) line[lptr] <= s_axis_tdata;
        a_old <= line[lptr];
        w <= wmem[waddr];
    end

    always @(posedge ap_clk) begin
        if (!ap_rst_n) begin
            waddr <= 0; lptr <= 0; v1 <= 1'b0; v2 <= 1'b0; m_axis_tvalid <= 1'b0; a <= 0;
        end else begin
            v1 <= fire;
            v2 <= v1;
            if (fire) begin
                waddr <= waddr + 1'b1;
                lptr <= lptr + 1'b1;
                a <= s_axis_tdata ^ a_old;
            end
            if (v2) m_axis_tvalid <= 1'b1;
            else if (m_axis_tready) m_axis_tvalid <= 1'b0;
        end
    end

    genvar p;
    generate
        for (p = 0; p < PE; p = p + 1) begin : lane
            always @(posedge ap_clk) begin
                if (!ap_rst_n) acc[p] <= 0;
                else if (v2) acc[p] <= acc[p] + $signed(a) * $signed(w[p*W_BITS +: W_BITS]);
            end
            assign m_axis_tdata[p*ACC_BITS +: ACC_BITS] = acc[p];
        end
    endgenerate
endmodule
