// maxpool: streaming k x k max-pool, stride K, floor (StreamingMaxPool).
// Input: IFM_H x IFM_W pixels, CF = CH/PE words of PE x BITS (signed when SIGNED).
// Output: floor(IFM_H/K) x floor(IFM_W/K) pixels, same word format.
// A row buffer of OFM_W*CF words keeps the running max of the current output row;
// one input word per cycle; global stall on output backpressure.
module maxpool #(
    parameter IFM_H = 4,
    parameter IFM_W = 4,
    parameter CH = 1,
    parameter K = 2,
    parameter PE = 1,
    parameter BITS = 8,
    parameter SIGNED = 0
) (
    input  wire               ap_clk,
    input  wire               ap_rst_n,
    input  wire [PE*BITS-1:0] s_axis_tdata,
    input  wire               s_axis_tvalid,
    output wire               s_axis_tready,
    output wire [PE*BITS-1:0] m_axis_tdata,
    output wire               m_axis_tvalid,
    input  wire               m_axis_tready
);
    localparam WW = PE * BITS;
    localparam CF = CH / PE;
    localparam OFM_H = IFM_H / K;
    localparam OFM_W = IFM_W / K;
    localparam BUF = OFM_W * CF;
    localparam AW = (BUF > 1) ? $clog2(BUF) : 1;
    localparam DW = $clog2(IFM_H + IFM_W + K + 2) + 1;
    localparam CFW = (CF > 1) ? $clog2(CF) : 1;

    reg [WW-1:0] rowbuf [0:BUF-1];
    reg [DW-1:0] y, x, ky, kx, ox;
    reg [CFW-1:0] cf;
    reg [WW-1:0] out_q;
    reg out_valid;

    wire en = !out_valid || m_axis_tready;
    wire take = en && s_axis_tvalid;
    assign s_axis_tready = en;
    assign m_axis_tdata = out_q;
    assign m_axis_tvalid = out_valid;

    wire inwin = (y < OFM_H * K) && (x < OFM_W * K);
    wire first = (ky == 0) && (kx == 0);
    wire last = (ky == K - 1) && (kx == K - 1);
    wire [AW-1:0] addr = ox * CF + cf;
    wire [WW-1:0] old = rowbuf[addr];
    reg [WW-1:0] m;
    reg [BITS-1:0] a, b;
    integer p;
    always @(*) begin
        for (p = 0; p < PE; p = p + 1) begin
            a = s_axis_tdata[p*BITS +: BITS];
            b = old[p*BITS +: BITS];
            if (SIGNED != 0) begin a[BITS-1] = ~a[BITS-1]; b[BITS-1] = ~b[BITS-1]; end
            m[p*BITS +: BITS] = (first || (a > b)) ? s_axis_tdata[p*BITS +: BITS] : old[p*BITS +: BITS];
        end
    end

    always @(posedge ap_clk) begin
        if (take && inwin) rowbuf[addr] <= m;
        if (take && inwin && last) out_q <= m;
    end

    always @(posedge ap_clk) begin
        if (!ap_rst_n) begin
            y <= 0; x <= 0; ky <= 0; kx <= 0; ox <= 0; cf <= 0; out_valid <= 1'b0;
        end else begin
            if (en) out_valid <= take && inwin && last;
            if (take) begin
                if (cf != CF - 1) cf <= cf + 1'b1;
                else begin
                    cf <= 0;
                    if (x != IFM_W - 1) begin
                        x <= x + 1'b1;
                        if (kx == K - 1) begin kx <= 0; ox <= ox + 1'b1; end
                        else kx <= kx + 1'b1;
                    end else begin
                        x <= 0; kx <= 0; ox <= 0;
                        if (y != IFM_H - 1) begin
                            y <= y + 1'b1;
                            ky <= (ky == K - 1) ? {DW{1'b0}} : ky + 1'b1;
                        end else begin
                            y <= 0; ky <= 0;
                        end
                    end
                end
            end
        end
    end
endmodule
