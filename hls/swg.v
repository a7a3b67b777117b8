// swg: sliding window generator (ConvolutionInputGenerator), k x k, stride, zero padding.
// Input: IFM_H x IFM_W pixels of CH channels, CF = CH/SIMD words of SIMD x BITS each.
// Output, per output pixel (oy, ox), for kh, for kw, for cf: one word
// padded[oy*STRIDE_H+kh, ox*STRIDE_W+kw, cf*SIMD +: SIMD] (0 in the padding).
// A circular line buffer of R = K_H + STRIDE_H input rows (fewer for small images) lets
// the writer (input) run up to one output row ahead of the reader (output): input is
// read while windows are written. Reader: two stages (buffer read, output register),
// stalled by output backpressure; the writer is independent of it.
module swg #(
    parameter IFM_H = 4,
    parameter IFM_W = 4,
    parameter CH = 1,
    parameter K_H = 3,
    parameter K_W = 3,
    parameter STRIDE_H = 1,
    parameter STRIDE_W = 1,
    parameter PAD_T = 0,
    parameter PAD_L = 0,
    parameter PAD_B = 0,
    parameter PAD_R = 0,
    parameter SIMD = 1,
    parameter BITS = 8
) (
    input  wire                 ap_clk,
    input  wire                 ap_rst_n,
    input  wire [SIMD*BITS-1:0] s_axis_tdata,
    input  wire                 s_axis_tvalid,
    output wire                 s_axis_tready,
    output wire [SIMD*BITS-1:0] m_axis_tdata,
    output wire                 m_axis_tvalid,
    input  wire                 m_axis_tready
);
    localparam WW = SIMD * BITS;
    localparam CF = CH / SIMD;
    localparam OFM_H = (IFM_H + PAD_T + PAD_B - K_H) / STRIDE_H + 1;
    localparam OFM_W = (IFM_W + PAD_L + PAD_R - K_W) / STRIDE_W + 1;
    localparam R0 = (K_H + STRIDE_H < IFM_H + PAD_T) ? K_H + STRIDE_H : IFM_H + PAD_T;
    localparam R1 = (R0 > K_H) ? R0 : K_H;
    localparam R = (R1 > STRIDE_H) ? R1 : STRIDE_H;       // rows in the line buffer
    localparam ROW_WORDS = IFM_W * CF;
    localparam BUF_WORDS = R * ROW_WORDS;
    localparam AW = (BUF_WORDS > 1) ? $clog2(BUF_WORDS) : 1;
    localparam DW = $clog2(IFM_H + IFM_W + PAD_T + PAD_B + PAD_L + PAD_R + K_H + K_W
                           + STRIDE_H + STRIDE_W + R + 2) + 1;
    localparam CFW = (CF > 1) ? $clog2(CF) : 1;
    localparam SW = $clog2(2 * R + 1);
    localparam [SW-1:0] SLOT0 = (R - (PAD_T % R)) % R;     // slot of padded row 0

    reg [WW-1:0] mem [0:BUF_WORDS-1];

    // ---------------- writer ----------------
    reg [DW-1:0] wr_y, wr_x;
    reg [CFW-1:0] wr_cf;
    reg [AW-1:0] wa;
    reg wr_done;
    reg rd_fin;
    reg [DW-1:0] rd_row0;   // oy * STRIDE_H (padded coordinates)
    wire wr_ok = !wr_done && (rd_fin || (wr_y + PAD_T < rd_row0 + R));
    wire wr = wr_ok && s_axis_tvalid;
    assign s_axis_tready = wr_ok;

    always @(posedge ap_clk) if (wr) mem[wa] <= s_axis_tdata;

    // ---------------- reader ----------------
    reg [DW-1:0] rd_col0;   // ox * STRIDE_W
    reg [DW-1:0] oy, ox, kh, kw;
    reg [CFW-1:0] cf;
    reg [SW-1:0] base_slot;
    reg out_valid, a_valid, a_zero;
    reg [WW-1:0] rdata_q, out_q;
    wire en = !out_valid || m_axis_tready;

    wire [DW-1:0] by = rd_row0 + kh;
    wire [DW-1:0] bx = rd_col0 + kw;
    wire inpix = (by >= PAD_T) && (by < PAD_T + IFM_H) && (bx >= PAD_L) && (bx < PAD_L + IFM_W);
    wire [DW-1:0] iy = by - PAD_T;
    wire [DW-1:0] ix = bx - PAD_L;
    wire avail = !inpix || wr_done || (iy < wr_y) ||
                 ((iy == wr_y) && ((ix < wr_x) || ((ix == wr_x) && (cf < wr_cf))));
    wire [SW-1:0] slot_s = base_slot + kh;
    wire [SW-1:0] slot = (slot_s >= R) ? slot_s - R : slot_s;
    wire [AW-1:0] raddr = slot * ROW_WORDS + ix * CF + cf;
    wire step = en && !rd_fin && avail;
    wire last_cf = (cf == CF - 1);
    wire last_kw = (kw == K_W - 1);
    wire last_kh = (kh == K_H - 1);
    wire last_ox = (ox == OFM_W - 1);
    wire last_oy = (oy == OFM_H - 1);
    wire [SW:0] next_slot_s = base_slot + STRIDE_H;

    assign m_axis_tdata = out_q;
    assign m_axis_tvalid = out_valid;

    always @(posedge ap_clk) begin
        if (step) rdata_q <= mem[raddr];
        if (en && a_valid) out_q <= a_zero ? {WW{1'b0}} : rdata_q;
    end

    wire frame_reset = rd_fin && wr_done;

    always @(posedge ap_clk) begin
        if (!ap_rst_n || frame_reset) begin
            wr_y <= 0; wr_x <= 0; wr_cf <= 0; wa <= 0; wr_done <= 1'b0;
            rd_row0 <= 0; rd_col0 <= 0; oy <= 0; ox <= 0; kh <= 0; kw <= 0; cf <= 0;
            base_slot <= SLOT0; rd_fin <= 1'b0;
        end else begin
            if (wr) begin
                wa <= (wa == BUF_WORDS - 1) ? {AW{1'b0}} : wa + 1'b1;
                if (wr_cf == CF - 1) begin
                    wr_cf <= 0;
                    if (wr_x == IFM_W - 1) begin
                        wr_x <= 0;
                        wr_y <= wr_y + 1'b1;
                        if (wr_y == IFM_H - 1) wr_done <= 1'b1;
                    end else wr_x <= wr_x + 1'b1;
                end else wr_cf <= wr_cf + 1'b1;
            end
            if (step) begin
                if (!last_cf) cf <= cf + 1'b1;
                else begin
                    cf <= 0;
                    if (!last_kw) kw <= kw + 1'b1;
                    else begin
                        kw <= 0;
                        if (!last_kh) kh <= kh + 1'b1;
                        else begin
                            kh <= 0;
                            if (!last_ox) begin
                                ox <= ox + 1'b1;
                                rd_col0 <= rd_col0 + STRIDE_W;
                            end else begin
                                ox <= 0;
                                rd_col0 <= 0;
                                if (!last_oy) begin
                                    oy <= oy + 1'b1;
                                    rd_row0 <= rd_row0 + STRIDE_H;
                                    base_slot <= (next_slot_s >= R) ? next_slot_s - R : next_slot_s;
                                end else begin
                                    rd_fin <= 1'b1;
                                end
                            end
                        end
                    end
                end
            end
        end
    end

    always @(posedge ap_clk) begin
        if (!ap_rst_n) begin
            a_valid <= 1'b0; out_valid <= 1'b0; a_zero <= 1'b0;
        end else if (en) begin
            a_valid <= step;
            if (step) a_zero <= !inpix;
            out_valid <= a_valid;
        end
    end
endmodule
