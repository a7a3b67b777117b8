// maxpool_idx: streaming k x k max-pool, stride K, floor, that also emits the argmax of every
// window (StreamingMaxPoolIdx; the encoder side of SegNet's max-unpool).
// Input: IFM_H x IFM_W pixels, CF = CH/PE words of PE x BITS (signed when SIGNED).
// Output 0 (bits [0, PE*BITS) of m_axis_tdata, tvalid/tready bit 0): the maxima, as maxpool.v.
// Output 1 (the bits above, bit 1): per element the window position ky*K + kx of its maximum,
// IB bits unsigned; the first maximum in raster order wins a tie (ONNX/PyTorch: the first).
// A row buffer of OFM_W*CF words keeps the running max and its position. One register per
// output, as duplicate_streams.v: the next input is taken once both outputs took the last word.
module maxpool_idx #(
    parameter IFM_H = 4,
    parameter IFM_W = 4,
    parameter CH = 1,
    parameter K = 2,
    parameter PE = 1,
    parameter BITS = 8,
    parameter SIGNED = 0,
    parameter IB = 2                 // index bits, >= clog2(K*K)
) (
    input  wire                    ap_clk,
    input  wire                    ap_rst_n,
    input  wire [PE*BITS-1:0]      s_axis_tdata,
    input  wire                    s_axis_tvalid,
    output wire                    s_axis_tready,
    output wire [PE*(BITS+IB)-1:0] m_axis_tdata,
    output wire [1:0]              m_axis_tvalid,
    input  wire [1:0]              m_axis_tready
);
    localparam WW = PE * BITS;
    localparam IW = PE * IB;
    localparam CF = CH / PE;
    localparam OFM_H = IFM_H / K;
    localparam OFM_W = IFM_W / K;
    localparam BUF = OFM_W * CF;
    localparam AW = (BUF > 1) ? $clog2(BUF) : 1;
    localparam DW = $clog2(IFM_H + IFM_W + K + 2) + 1;
    localparam CFW = (CF > 1) ? $clog2(CF) : 1;

    reg [WW+IW-1:0] rowbuf [0:BUF-1];   // {positions, maxima}
    reg [DW-1:0] y, x, ky, kx, ox;
    reg [CFW-1:0] cf;
    reg [WW-1:0] val_q;
    reg [IW-1:0] idx_q;
    reg [1:0] pending;

    wire en = (pending & ~m_axis_tready) == 2'b00;   // both outputs free this cycle
    wire take = en && s_axis_tvalid;
    assign s_axis_tready = en;
    assign m_axis_tdata = {idx_q, val_q};
    assign m_axis_tvalid = pending;

    wire inwin = (y < OFM_H * K) && (x < OFM_W * K);
    wire first = (ky == 0) && (kx == 0);
    wire last = (ky == K - 1) && (kx == K - 1);
    wire [AW-1:0] addr = ox * CF + cf;
    wire [WW+IW-1:0] old = rowbuf[addr];
    wire [IB-1:0] pos = ky * K + kx;
    reg [WW-1:0] m;
    reg [IW-1:0] mi;
    reg [BITS-1:0] a, b;
    integer p;
    always @(*) begin
        for (p = 0; p < PE; p = p + 1) begin
            a = s_axis_tdata[p*BITS +: BITS];
            b = old[p*BITS +: BITS];
            if (SIGNED != 0) begin a[BITS-1] = ~a[BITS-1]; b[BITS-1] = ~b[BITS-1]; end
            if (first || (a > b)) begin
                m[p*BITS +: BITS] = s_axis_tdata[p*BITS +: BITS];
                mi[p*IB +: IB] = pos;
            end else begin
                m[p*BITS +: BITS] = old[p*BITS +: BITS];
                mi[p*IB +: IB] = old[WW + p*IB +: IB];
            end
        end
    end

    always @(posedge ap_clk) begin
        if (take && inwin) rowbuf[addr] <= {mi, m};
        if (take && inwin && last) begin val_q <= m; idx_q <= mi; end
    end

    always @(posedge ap_clk) begin
        if (!ap_rst_n) begin
            y <= 0; x <= 0; ky <= 0; kx <= 0; ox <= 0; cf <= 0; pending <= 2'b00;
        end else begin
            pending <= (take && inwin && last) ? 2'b11 : (pending & ~m_axis_tready);
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
