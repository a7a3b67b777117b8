// axilite_ctrl: minimal AXI4-Lite control/status slave of the stitched accelerator.
//   0x00 ID        (read-only, 32'h46464C57 = "FFLW")
//   0x04 CONTROL   bit 0: soft reset of the dataflow (1 = held in reset)
//   0x08 IN_WORDS  input-stream words accepted since reset (read-only, wraps)
//   0x0C OUT_WORDS output-stream words delivered since reset (read-only, wraps)
module axilite_ctrl #(
    parameter ADDR_BITS = 6
) (
    input  wire                 ap_clk,
    input  wire                 ap_rst_n,
    input  wire [ADDR_BITS-1:0] s_axi_awaddr,
    input  wire                 s_axi_awvalid,
    output wire                 s_axi_awready,
    input  wire [31:0]          s_axi_wdata,
    input  wire [3:0]           s_axi_wstrb,
    input  wire                 s_axi_wvalid,
    output wire                 s_axi_wready,
    output wire [1:0]           s_axi_bresp,
    output reg                  s_axi_bvalid,
    input  wire                 s_axi_bready,
    input  wire [ADDR_BITS-1:0] s_axi_araddr,
    input  wire                 s_axi_arvalid,
    output wire                 s_axi_arready,
    output reg  [31:0]          s_axi_rdata,
    output wire [1:0]           s_axi_rresp,
    output reg                  s_axi_rvalid,
    input  wire                 s_axi_rready,
    input  wire                 in_fire,
    input  wire                 out_fire,
    output wire                 soft_reset
);
    reg ctrl_rst;
    reg [31:0] in_cnt, out_cnt;
    wire wr = s_axi_awvalid && s_axi_wvalid && !s_axi_bvalid;
    assign s_axi_awready = wr;
    assign s_axi_wready = wr;
    assign s_axi_bresp = 2'b00;
    assign s_axi_rresp = 2'b00;
    assign s_axi_arready = !s_axi_rvalid;
    assign soft_reset = ctrl_rst;

    always @(posedge ap_clk) begin
        if (!ap_rst_n) begin
            ctrl_rst <= 1'b0; s_axi_bvalid <= 1'b0; s_axi_rvalid <= 1'b0; s_axi_rdata <= 32'd0;
        end else begin
            if (wr) begin
                s_axi_bvalid <= 1'b1;
                if (s_axi_awaddr[ADDR_BITS-1:2] == 1 && s_axi_wstrb[0]) ctrl_rst <= s_axi_wdata[0];
            end else if (s_axi_bready) s_axi_bvalid <= 1'b0;
            if (s_axi_arvalid && !s_axi_rvalid) begin
                s_axi_rvalid <= 1'b1;
                case (s_axi_araddr[ADDR_BITS-1:2])
                    0: s_axi_rdata <= 32'h46464C57;
                    1: s_axi_rdata <= {31'd0, ctrl_rst};
                    2: s_axi_rdata <= in_cnt;
                    3: s_axi_rdata <= out_cnt;
                    default: s_axi_rdata <= 32'd0;
                endcase
            end else if (s_axi_rready) s_axi_rvalid <= 1'b0;
        end
    end

    always @(posedge ap_clk) begin
        if (!ap_rst_n || ctrl_rst) begin
            in_cnt <= 32'd0; out_cnt <= 32'd0;
        end else begin
            if (in_fire) in_cnt <= in_cnt + 1'b1;
            if (out_fire) out_cnt <= out_cnt + 1'b1;
        end
    end
endmodule
