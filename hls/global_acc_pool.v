// global_acc_pool: out[c] = sum over all pixels of in[y, x, c] (GlobalAccPool).
// Input: IFM_H*IFM_W pixels of CF = CH/PE words of PE x IN_BITS; output CF words of
// PE x OUT_BITS (signed when SIGNED) after the last input pixel: H*W*CF + CF cycles.
module global_acc_pool #(
    parameter IFM_H = 2,
    parameter IFM_W = 2,
    parameter CH = 1,
    parameter PE = 1,
    parameter IN_BITS = 8,
    parameter SIGNED = 0,
    parameter OUT_BITS = 10
) (
    input  wire                  ap_clk,
    input  wire                  ap_rst_n,
    input  wire [PE*IN_BITS-1:0] s_axis_tdata,
    input  wire                  s_axis_tvalid,
    output wire                  s_axis_tready,
    output wire [PE*OUT_BITS-1:0] m_axis_tdata,
    output wire                  m_axis_tvalid,
    input  wire                  m_axis_tready
);
    localparam CF = CH / PE;
    localparam NPIX = IFM_H * IFM_W;
    localparam PW = (NPIX > 1) ? $clog2(NPIX) : 1;
    localparam CFW = (CF > 1) ? $clog2(CF) : 1;
    localparam OW = PE * OUT_BITS;

    reg [OW-1:0] acc [0:CF-1];
    reg [PW-1:0] pix;
    reg [CFW-1:0] cf, ocf;
    reg phase_out;
    reg [OW-1:0] out_q;
    reg out_valid;

    wire en = !out_valid || m_axis_tready;
    wire take = !phase_out && s_axis_tvalid;
    assign s_axis_tready = !phase_out;
    assign m_axis_tdata = out_q;
    assign m_axis_tvalid = out_valid;

    wire [OW-1:0] old = acc[cf];
    reg [OW-1:0] nxt;
    reg [OUT_BITS-1:0] e;
    integer p, b;
    always @(*) begin
        for (p = 0; p < PE; p = p + 1) begin
            for (b = 0; b < OUT_BITS; b = b + 1)
                e[b] = (b < IN_BITS) ? s_axis_tdata[p*IN_BITS + b]
                       : ((SIGNED != 0) ? s_axis_tdata[p*IN_BITS + IN_BITS - 1] : 1'b0);
            nxt[p*OUT_BITS +: OUT_BITS] = ((pix == 0) ? {OUT_BITS{1'b0}} : old[p*OUT_BITS +: OUT_BITS]) + e;
        end
    end

    always @(posedge ap_clk) begin
        if (take) acc[cf] <= nxt;
        if (phase_out && en) out_q <= acc[ocf];
    end

    always @(posedge ap_clk) begin
        if (!ap_rst_n) begin
            pix <= 0; cf <= 0; ocf <= 0; phase_out <= 1'b0; out_valid <= 1'b0;
        end else begin
            if (en) out_valid <= phase_out;
            if (take) begin
                if (cf != CF - 1) cf <= cf + 1'b1;
                else begin
                    cf <= 0;
                    if (pix != NPIX - 1) pix <= pix + 1'b1;
                    else begin pix <= 0; phase_out <= 1'b1; end
                end
            end
            if (phase_out && en) begin
                if (ocf != CF - 1) ocf <= ocf + 1'b1;
                else begin ocf <= 0; phase_out <= 1'b0; end
            end
        end
    end
endmodule
