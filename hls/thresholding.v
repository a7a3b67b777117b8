// thresholding: standalone multi-threshold activation (Thresholding).
// Input words carry PE channels of IN_BITS; output words PE channels of ACT_BITS.
// THRESH_FILE: CH/PE lines; line cf, element pe*N_THR+t = T[cf*PE+pe, t] (signed THR_BITS).
// Two-stage pipeline (ROM read, compare), global stall on output backpressure.
module thresholding #(
    parameter CH = 4,
    parameter PE = 1,
    parameter NUM_VECTORS = 1,      // informative
    parameter IN_BITS = 8,
    parameter IN_SIGNED = 1,
    parameter THR_BITS = 8,
    parameter ACT_BITS = 2,
    parameter ACT_BIAS = 0,
    parameter THRESH_FILE = ""
) (
    input  wire                     ap_clk,
    input  wire                     ap_rst_n,
    input  wire [PE*IN_BITS-1:0]    s_axis_tdata,
    input  wire                     s_axis_tvalid,
    output wire                     s_axis_tready,
    output wire [PE*ACT_BITS-1:0]   m_axis_tdata,
    output wire                     m_axis_tvalid,
    input  wire                     m_axis_tready
);
    localparam N_THR = (1 << ACT_BITS) - 1;
    localparam CF = CH / PE;
    localparam TW = PE * N_THR * THR_BITS;
    localparam FW = (CF > 1) ? $clog2(CF) : 1;

    reg [TW-1:0] tmem [0:CF-1];
    generate if (THRESH_FILE != "") begin : g_tinit
        initial $readmemh(THRESH_FILE, tmem);
    end endgenerate

    reg [FW-1:0] cf;
    reg [TW-1:0] thr_q;
    reg [PE*IN_BITS-1:0] in_q;
    reg a_valid;
    reg [PE*ACT_BITS-1:0] out_q;
    reg out_valid;

    wire en = !out_valid || m_axis_tready;
    wire take = en && s_axis_tvalid;
    assign s_axis_tready = en;
    assign m_axis_tdata = out_q;
    assign m_axis_tvalid = out_valid;

    wire [PE*ACT_BITS-1:0] y;
    thresh_core #(.PE(PE), .V_BITS(IN_BITS), .V_SIGNED(IN_SIGNED), .THR_BITS(THR_BITS),
                  .ACT_BITS(ACT_BITS), .ACT_BIAS(ACT_BIAS)) u_thr (.v(in_q), .thr(thr_q), .y(y));

    always @(posedge ap_clk) begin
        if (take) begin
            thr_q <= tmem[cf];
            in_q <= s_axis_tdata;
        end
        if (en && a_valid) out_q <= y;
    end

    always @(posedge ap_clk) begin
        if (!ap_rst_n) begin
            cf <= 0; a_valid <= 1'b0; out_valid <= 1'b0;
        end else if (en) begin
            a_valid <= s_axis_tvalid;
            out_valid <= a_valid;
            if (s_axis_tvalid) cf <= (cf == CF - 1) ? {FW{1'b0}} : cf + 1'b1;
        end
    end
endmodule
