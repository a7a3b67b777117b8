// swg: sliding window generator (ConvolutionInputGenerator), k x k, stride, zero padding.
// Input: IFM_H x IFM_W pixels of CH channels, CF = CH/SIMD words of SIMD x BITS each.
// Output, per output pixel (oy, ox), for kh, for kw, for cf: one word
// padded[oy*STRIDE_H+kh, ox*STRIDE_W+kw, cf*SIMD +: SIMD] (0 in the padding).
// A circular buffer of D = (K_H+STRIDE_H-2)*IFM_W + 2*K_W input pixels (at most the whole
// image; FINN's minimum (K_H-1)*IFM_W + K_W plus slack so the writer can run ahead) holds
// the input: the writer (input) overwrites a pixel once no future window needs it, so
// input is read while windows are written. Reader: two stages (buffer read, output
// register), stalled by output backpressure; the writer is independent of it.
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
    localparam NPIX = IFM_H * IFM_W;
    localparam D0 = (K_H + STRIDE_H - 2) * IFM_W + 2 * K_W;
    localparam D = (D0 < NPIX) ? D0 : NPIX;                 // pixels in the buffer
    localparam BUF_WORDS = D * CF;
    localparam AW = (BUF_WORDS > 1) ? $clog2(BUF_WORDS) : 1;
    localparam PW = $clog2(D + 1) + 1;                        // pixel address (mod D) width
    localparam LW = $clog2(NPIX + D + 2) + 1;                 // linear pixel index width
    localparam DW = $clog2(IFM_H + IFM_W + PAD_T + PAD_B + PAD_L + PAD_R + K_H + K_W
                           + STRIDE_H + STRIDE_W + 2) + 1;
    localparam CFW = (CF > 1) ? $clog2(CF) : 1;
    // constants modulo D
    localparam [PW-1:0] ROW0 = (D - ((PAD_T * IFM_W + PAD_L) % D)) % D;   // pixel (-PAD_T, -PAD_L)
    localparam [PW-1:0] DROW = (STRIDE_H * IFM_W) % D;
    localparam [PW-1:0] DCOL = STRIDE_W % D;
    localparam [PW-1:0] DKH = (IFM_W + D * K_W - (K_W - 1)) % D;

    reg [WW-1:0] mem [0:BUF_WORDS-1];

    // ---------------- writer ----------------
    reg [DW-1:0] wr_y, wr_x;
    reg [CFW-1:0] wr_cf;
    reg [PW-1:0] wpa;       // pixel address of the next write (mod D)
    reg [LW-1:0] wr_lin;    // linear index of the next pixel to write
    reg wr_done;
    reg rd_fin;
    reg [DW-1:0] rd_row0;   // oy * STRIDE_H (padded coordinates)
    reg [DW-1:0] rd_col0;   // ox * STRIDE_W
    // smallest linear pixel index any current or future window of this frame still reads
    wire [DW-1:0] ry = (rd_row0 >= PAD_T) ? rd_row0 - PAD_T : {DW{1'b0}};
    wire [DW-1:0] cxa = (rd_col0 >= PAD_L) ? rd_col0 - PAD_L : {DW{1'b0}};
    wire [DW-1:0] cx = (cxa > IFM_W) ? IFM_W : cxa;
    wire next_row_needs_row0 = (rd_row0 + STRIDE_H <= PAD_T);
    wire [LW-1:0] min_need = next_row_needs_row0 ? {LW{1'b0}} : ry * IFM_W + cx;
    wire wr_ok = !wr_done && (rd_fin || (wr_lin < min_need + D));
    wire wr = wr_ok && s_axis_tvalid;
    assign s_axis_tready = wr_ok;

    wire [AW-1:0] waddr = wpa * CF + wr_cf;
    always @(posedge ap_clk) if (wr) mem[waddr] <= s_axis_tdata;

    // ---------------- reader ----------------
    reg [DW-1:0] oy, ox, kh, kw;
    reg [CFW-1:0] cf;
    reg [PW-1:0] row_pa;    // pixel address (mod D) of (oy*S_H - PAD_T, -PAD_L)
    reg [PW-1:0] win_pa;    // pixel address of the window's top-left (oy*S_H - PAD_T, ox*S_W - PAD_L)
    reg [PW-1:0] off;       // kh*IFM_W + kw  (< D)
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
    wire [PW:0] pa_s = win_pa + off;
    wire [PW-1:0] pa = (pa_s >= D) ? pa_s - D : pa_s;
    wire [AW-1:0] raddr = pa * CF + cf;
    wire step = en && !rd_fin && avail;
    wire last_cf = (cf == CF - 1);
    wire last_kw = (kw == K_W - 1);
    wire last_kh = (kh == K_H - 1);
    wire last_ox = (ox == OFM_W - 1);
    wire last_oy = (oy == OFM_H - 1);
    wire [PW:0] next_win_s = win_pa + DCOL;
    wire [PW:0] next_row_s = row_pa + DROW;
    wire [PW-1:0] next_row = (next_row_s >= D) ? next_row_s - D : next_row_s;
    wire [PW:0] off_kh_s = off + DKH;

    assign m_axis_tdata = out_q;
    assign m_axis_tvalid = out_valid;

    always @(posedge ap_clk) begin
        if (step) rdata_q <= mem[raddr];
        if (en && a_valid) out_q <= a_zero ? {WW{1'b0}} : rdata_q;
    end

    wire frame_reset = rd_fin && wr_done;

    always @(posedge ap_clk) begin
        if (!ap_rst_n || frame_reset) begin
            wr_y <= 0; wr_x <= 0; wr_cf <= 0; wpa <= 0; wr_lin <= 0; wr_done <= 1'b0;
            rd_row0 <= 0; rd_col0 <= 0; oy <= 0; ox <= 0; kh <= 0; kw <= 0; cf <= 0;
            row_pa <= ROW0; win_pa <= ROW0; off <= 0; rd_fin <= 1'b0;
        end else begin
            if (wr) begin
                if (wr_cf == CF - 1) begin
                    wr_cf <= 0;
                    wpa <= (wpa == D - 1) ? {PW{1'b0}} : wpa + 1'b1;
                    wr_lin <= wr_lin + 1'b1;
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
                    if (!last_kw) begin kw <= kw + 1'b1; off <= (off == D - 1) ? {PW{1'b0}} : off + 1'b1; end
                    else begin
                        kw <= 0;
                        if (!last_kh) begin
                            kh <= kh + 1'b1;
                            off <= (off_kh_s >= D) ? off_kh_s - D : off_kh_s;
                        end else begin
                            kh <= 0;
                            off <= 0;
                            if (!last_ox) begin
                                ox <= ox + 1'b1;
                                rd_col0 <= rd_col0 + STRIDE_W;
                                win_pa <= (next_win_s >= D) ? next_win_s - D : next_win_s;
                            end else begin
                                ox <= 0;
                                rd_col0 <= 0;
                                if (!last_oy) begin
                                    oy <= oy + 1'b1;
                                    rd_row0 <= rd_row0 + STRIDE_H;
                                    row_pa <= next_row;
                                    win_pa <= next_row;
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
