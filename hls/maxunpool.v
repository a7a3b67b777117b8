// maxunpool: max-unpooling with pooling indices, stride = kernel = SCALE (MaxUnpool; SegNet's
// decoder). out[y*S+dy, x*S+dx, c] = v[y, x, c] if idx[y, x, c] == dy*S + dx, else 0.
// Input 0 (bits [0, PE*BITS) of s_axis_tdata, tvalid/tready bit 0): the values; input 1 (the
// IB*PE bits above, bit 1): the positions from maxpool_idx. Both are read together, one word
// each, while the first output row of an input row is produced; the other SCALE-1 output rows
// replay the row buffer (IFM_W*CF words of {positions, values}), as upsample.v does.
// One output word per cycle; global stall on output backpressure.
module maxunpool #(
    parameter IFM_H = 2,
    parameter IFM_W = 2,
    parameter CH = 1,
    parameter SCALE = 2,
    parameter PE = 1,
    parameter BITS = 8,
    parameter IB = 2
) (
    input  wire                    ap_clk,
    input  wire                    ap_rst_n,
    input  wire [PE*(BITS+IB)-1:0] s_axis_tdata,
    input  wire [1:0]              s_axis_tvalid,
    output wire [1:0]              s_axis_tready,
    output wire [PE*BITS-1:0]      m_axis_tdata,
    output wire                    m_axis_tvalid,
    input  wire                    m_axis_tready
);
    localparam WW = PE * (BITS + IB);
    localparam CF = CH / PE;
    localparam BUF = IFM_W * CF;
    localparam AW = (BUF > 1) ? $clog2(BUF) : 1;
    localparam DW = $clog2(IFM_W + SCALE + 2) + 1;
    localparam CFW = (CF > 1) ? $clog2(CF) : 1;

    reg [WW-1:0] rowbuf [0:BUF-1];
    reg [DW-1:0] sy, ix, sx;
    reg [CFW-1:0] cf;
    reg [AW-1:0] addr;
    reg [WW-1:0] in_q, rd_q;
    reg [PE*BITS-1:0] out_q;
    reg [IB-1:0] a_pos;
    reg a_valid, a_in, out_valid;

    wire en = !out_valid || m_axis_tready;
    wire take = (sy == 0) && (sx == 0);
    wire both = s_axis_tvalid[0] && s_axis_tvalid[1];
    wire step = en && (!take || both);
    assign s_axis_tready = {2{en && take && both}};
    assign m_axis_tdata = out_q;
    assign m_axis_tvalid = out_valid;

    wire [WW-1:0] cur = a_in ? in_q : rd_q;   // {positions, values}
    reg [PE*BITS-1:0] sel;
    integer p;
    always @(*) begin
        for (p = 0; p < PE; p = p + 1)
            sel[p*BITS +: BITS] = (cur[PE*BITS + p*IB +: IB] == a_pos) ? cur[p*BITS +: BITS] : {BITS{1'b0}};
    end

    always @(posedge ap_clk) begin
        if (step && take) begin rowbuf[addr] <= s_axis_tdata; in_q <= s_axis_tdata; end
        if (step && !take) rd_q <= rowbuf[addr];
        if (en && a_valid) out_q <= sel;
    end

    always @(posedge ap_clk) begin
        if (!ap_rst_n) begin
            sy <= 0; ix <= 0; sx <= 0; cf <= 0; addr <= 0;
            a_valid <= 1'b0; a_in <= 1'b0; a_pos <= 0; out_valid <= 1'b0;
        end else begin
            if (en) begin
                a_valid <= step;
                if (step) begin a_in <= take; a_pos <= sy * SCALE + sx; end
                out_valid <= a_valid;
            end
            if (step) begin
                if (cf != CF - 1) begin cf <= cf + 1'b1; addr <= addr + 1'b1; end
                else begin
                    cf <= 0;
                    if (sx != SCALE - 1) begin
                        sx <= sx + 1'b1;
                        addr <= addr - (CF - 1);
                    end else begin
                        sx <= 0;
                        if (ix != IFM_W - 1) begin
                            ix <= ix + 1'b1;
                            addr <= addr + 1'b1;
                        end else begin
                            ix <= 0; addr <= 0;
                            sy <= (sy == SCALE - 1) ? {DW{1'b0}} : sy + 1'b1;
                        end
                    end
                end
            end
        end
    end
endmodule
