// swg_pw: parallel-window sliding window generator (ConvolutionInputGenerator with
// parallel_window = 1; SIMD = CH). Input: one pixel of CH x BITS per word. Output: one word per
// output pixel (oy, ox) carrying the whole K_H x K_W x CH window, element (kh*K_W + kw)*CH + c
// = padded[oy*STRIDE_H+kh, ox*STRIDE_W+kw, c] (0 in the padding), element 0 in the LSBs.
//
// Classic line buffer: the issue stage walks positions (py, px) of the image extended by the
// bottom/right padding that windows need, RH x RW (RH = max(IFM_H, PY_LAST+1), same for W),
// one position per cycle; an in-image position takes one input word. The line buffer (one
// memory of IFM_W words of (K_H-1) pixels, sync read, BRAM/LUTRAM) gives the K_H-1 pixels above
// (py, px); with the new pixel they form a column that is shifted into a register window of
// K_W columns. Position (py, px) completes the window whose bottom-right corner it is; window
// cells outside the image (top/left padding, previous row/frame, bottom/right padding) are
// masked to 0 by coordinate, so top/left padding costs no cycles and frames run back to back:
// RH*RW cycles per frame. Two stages (line-buffer read, window + output register), all
// stalled together by output backpressure. Requires PAD_T < K_H and PAD_L < K_W.
module swg_pw #(
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
    parameter BITS = 8
) (
    input  wire                         ap_clk,
    input  wire                         ap_rst_n,
    input  wire [CH*BITS-1:0]           s_axis_tdata,
    input  wire                         s_axis_tvalid,
    output wire                         s_axis_tready,
    output wire [K_H*K_W*CH*BITS-1:0]   m_axis_tdata,
    output wire                         m_axis_tvalid,
    input  wire                         m_axis_tready
);
    localparam PXW = CH * BITS;                 // one pixel
    localparam CW = K_H * PXW;                  // one window column
    localparam OFM_H = (IFM_H + PAD_T + PAD_B - K_H) / STRIDE_H + 1;
    localparam OFM_W = (IFM_W + PAD_L + PAD_R - K_W) / STRIDE_W + 1;
    localparam PY0 = K_H - 1 - PAD_T;           // position row of the first window's last row
    localparam PX0 = K_W - 1 - PAD_L;
    localparam PY_LAST = PY0 + (OFM_H - 1) * STRIDE_H;
    localparam PX_LAST = PX0 + (OFM_W - 1) * STRIDE_W;
    localparam RH = (PY_LAST + 1 > IFM_H) ? PY_LAST + 1 : IFM_H;
    localparam RW = (PX_LAST + 1 > IFM_W) ? PX_LAST + 1 : IFM_W;
    localparam YW = $clog2(RH + K_H + IFM_H + 2) + 1;
    localparam XW = $clog2(RW + K_W + IFM_W + 2) + 1;
    localparam SYW = (STRIDE_H > 1) ? $clog2(STRIDE_H) : 1;
    localparam SXW = (STRIDE_W > 1) ? $clog2(STRIDE_W) : 1;
    localparam [SYW-1:0] SY0 = (STRIDE_H - (PY0 % STRIDE_H)) % STRIDE_H;   // (py - PY0) mod S_H at py = 0
    localparam [SXW-1:0] SX0 = (STRIDE_W - (PX0 % STRIDE_W)) % STRIDE_W;
    localparam LBW = (K_H > 1) ? (K_H - 1) * PXW : 1;                     // line-buffer word
    localparam AW = (IFM_W > 1) ? $clog2(IFM_W) : 1;

    // ---------------- issue: position (py, px) ----------------
    reg [YW-1:0] py;
    reg [XW-1:0] px;
    reg [SYW-1:0] sy;       // (py - PY0) mod STRIDE_H
    reg [SXW-1:0] sx;
    reg out_valid;
    wire en = !out_valid || m_axis_tready;
    wire need_in = (py < IFM_H) && (px < IFM_W);
    wire emit = (sy == 0) && (py >= PY0) && (py <= PY_LAST) && (sx == 0) && (px >= PX0) && (px <= PX_LAST);
    wire issue = en && (!need_in || s_axis_tvalid);
    assign s_axis_tready = en && need_in;

    // window cell (kh, kw) of position (py, px) is image pixel (py-K_H+1+kh, px-K_W+1+kw)
    wire [K_H-1:0] row_ok;
    wire [K_W-1:0] col_ok;
    genvar g, h;
    generate
        for (g = 0; g < K_H; g = g + 1) begin : g_row
            assign row_ok[g] = (py + g >= K_H - 1) && (py + g < IFM_H + K_H - 1);
        end
        for (g = 0; g < K_W; g = g + 1) begin : g_col
            assign col_ok[g] = (px + g >= K_W - 1) && (px + g < IFM_W + K_W - 1);
        end
    endgenerate

    // ---------------- stage A: line-buffer read ----------------
    reg a_valid, a_emit, a_lbw;
    reg [PXW-1:0] a_pix;
    reg [AW-1:0] a_addr;
    reg [K_H-1:0] a_row_ok;
    reg [K_W-1:0] a_col_ok;
    wire [AW-1:0] raddr = (px < IFM_W) ? px[AW-1:0] : {AW{1'b0}};

    always @(posedge ap_clk) begin
        if (en) begin
            a_pix <= need_in ? s_axis_tdata : {PXW{1'b0}};
            a_addr <= raddr;
            a_lbw <= (px < IFM_W);
            a_emit <= issue && emit;
            a_row_ok <= row_ok;
            a_col_ok <= col_ok;
        end
    end

    // ---------------- stage B: column, window register, output ----------------
    wire step = en && a_valid;
    wire [CW-1:0] col_new;
    wire [K_W*CW-1:0] full;     // column kw at [kw*CW +: CW] (kw = K_W-1 is the new one), row kh of a column at [kh*PXW +: PXW]
    generate
        if (K_H > 1) begin : g_lb
            wire [LBW-1:0] lb_rd;
            if (RW == 1) begin : g_reg
                // every position reads and writes address 0 back to back: a register
                reg [LBW-1:0] lb_r;
                assign lb_rd = lb_r;
                always @(posedge ap_clk) if (step && a_lbw) lb_r <= col_new[CW-1:PXW];
            end else begin : g_mem
                // consecutive line-buffer accesses are to different addresses (RW > 1), so the
                // read issued in the cycle of a write never needs the written word
                reg [LBW-1:0] lb [0:IFM_W-1];
                reg [LBW-1:0] lb_q;
                assign lb_rd = lb_q;
                always @(posedge ap_clk) begin
                    if (en) lb_q <= lb[raddr];
                    if (step && a_lbw) lb[a_addr] <= col_new[CW-1:PXW];
                end
            end
            assign col_new = {a_pix, lb_rd};
        end else begin : g_nolb
            assign col_new = a_pix;
        end
        if (K_W > 1) begin : g_win
            reg [(K_W-1)*CW-1:0] win;   // the K_W-1 previous columns, oldest at the LSBs
            assign full = {col_new, win};
            always @(posedge ap_clk) if (step) win <= full[K_W*CW-1:CW];
        end else begin : g_nowin
            assign full = col_new;
        end
    endgenerate

    wire [K_H*K_W*PXW-1:0] window;
    generate
        for (g = 0; g < K_H; g = g + 1) begin : g_wh
            for (h = 0; h < K_W; h = h + 1) begin : g_ww
                assign window[(g*K_W + h)*PXW +: PXW] =
                    (a_row_ok[g] && a_col_ok[h]) ? full[(h*K_H + g)*PXW +: PXW] : {PXW{1'b0}};
            end
        end
    endgenerate

    reg [K_H*K_W*PXW-1:0] out_q;
    assign m_axis_tdata = out_q;
    assign m_axis_tvalid = out_valid;
    always @(posedge ap_clk) if (step && a_emit) out_q <= window;

    // ---------------- control ----------------
    always @(posedge ap_clk) begin
        if (!ap_rst_n) begin
            py <= 0; px <= 0; sy <= SY0; sx <= SX0;
            a_valid <= 1'b0; out_valid <= 1'b0;
        end else if (en) begin
            a_valid <= issue;
            out_valid <= a_valid && a_emit;
            if (issue) begin
                if (px == RW - 1) begin
                    px <= 0;
                    sx <= SX0;
                    if (py == RH - 1) begin
                        py <= 0;
                        sy <= SY0;
                    end else begin
                        py <= py + 1'b1;
                        sy <= (sy == STRIDE_H - 1) ? {SYW{1'b0}} : sy + 1'b1;
                    end
                end else begin
                    px <= px + 1'b1;
                    sx <= (sx == STRIDE_W - 1) ? {SXW{1'b0}} : sx + 1'b1;
                end
            end
        end
    end
endmodule
