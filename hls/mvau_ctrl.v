// mvau_ctrl: the (nf, sf) sequencer shared by mvau.v and mvau_binary.v: weight ROM (or the
// external weight stream), input handshake, the input-vector buffer replayed for nf > 0, and
// pipeline stage A. One (nf, sf) step per cycle while en (the output stage can take a word);
// w/x/a_* are stage A's registers, read by the caller's product stage.
// WEIGHT_FILE: NF*SF lines of WW bits, line nf*SF + sf (the caller defines the element order).
module mvau_ctrl #(
    parameter NF = 1,
    parameter SF = 1,
    parameter WW = 4,               // bits of a weight word (PE*SIMD*W_BITS)
    parameter XWORD = 4,            // bits of an input word (SIMD*IN_BITS)
    parameter WEIGHT_FILE = "",
    parameter EXT_WEIGHTS = 0,
    // the layer's ram_style, as the weight memory's synthesis attribute: "distributed" (a ROM in LUTs:
    // Yosys maps LUTRAM only for memories with a write port, Vivado's distributed ROM is LUTs as well),
    // "block"; "auto" lets the tool pick. No "ultra": an UltraRAM has no initial content.
    parameter RAM_STYLE = "auto",
    parameter NFW = (NF > 1) ? $clog2(NF) : 1
) (
    input  wire             ap_clk,
    input  wire             ap_rst_n,
    input  wire             en,
    input  wire [XWORD-1:0] s_axis_tdata,
    input  wire             s_axis_tvalid,
    output wire             s_axis_tready,
    input  wire [WW-1:0]    s_axis_w_tdata,
    input  wire             s_axis_w_tvalid,
    output wire             s_axis_w_tready,
    output reg  [WW-1:0]    w_q,
    output wire [XWORD-1:0] x,          // the step's input word (from the stream or the buffer)
    output reg              a_valid,
    output reg              a_first,    // sf == 0
    output reg              a_last,     // sf == SF - 1
    output reg  [NFW-1:0]   a_nf
);
    localparam WD = NF * SF;
    localparam SFW = (SF > 1) ? $clog2(SF) : 1;
    localparam WAW = (WD > 1) ? $clog2(WD) : 1;

    reg [NFW-1:0] nf;
    reg [SFW-1:0] sf;
    reg [WAW-1:0] waddr;
    wire [WW-1:0] w_rom;
    generate if (EXT_WEIGHTS != 0) begin : g_wext
        assign w_rom = {WW{1'b0}};
    end else if (RAM_STYLE == "distributed") begin : g_wlut
        (* ram_style = "logic" *) reg [WW-1:0] wmem [0:WD-1];
        if (WEIGHT_FILE != "") begin : g_winit
            initial $readmemh(WEIGHT_FILE, wmem);
        end
        assign w_rom = wmem[waddr];
    end else if (RAM_STYLE == "block") begin : g_wbram
        (* ram_style = "block" *) reg [WW-1:0] wmem [0:WD-1];
        if (WEIGHT_FILE != "") begin : g_winit
            initial $readmemh(WEIGHT_FILE, wmem);
        end
        assign w_rom = wmem[waddr];
    end else begin : g_wauto
        reg [WW-1:0] wmem [0:WD-1];
        if (WEIGHT_FILE != "") begin : g_winit
            initial $readmemh(WEIGHT_FILE, wmem);
        end
        assign w_rom = wmem[waddr];
    end endgenerate

    wire from_stream = (nf == 0);
    wire w_ok = (EXT_WEIGHTS == 0) || s_axis_w_tvalid;
    wire step = en && (!from_stream || s_axis_tvalid) && w_ok;
    assign s_axis_tready = en && from_stream && w_ok;
    assign s_axis_w_tready = (EXT_WEIGHTS != 0) && en && (!from_stream || s_axis_tvalid);

    reg [XWORD-1:0] xi_q, xb_q;
    reg a_src;
    assign x = a_src ? xb_q : xi_q;

    always @(posedge ap_clk) begin
        if (step) begin
            w_q <= (EXT_WEIGHTS != 0) ? s_axis_w_tdata : w_rom;
            if (from_stream) xi_q <= s_axis_tdata;
        end
    end

    generate if (NF > 1) begin : g_ibuf
        reg [XWORD-1:0] ibuf [0:SF-1];
        always @(posedge ap_clk) begin
            if (step && from_stream) ibuf[sf] <= s_axis_tdata;
            if (step && !from_stream) xb_q <= ibuf[sf];
        end
    end else begin : g_noibuf
        always @(posedge ap_clk) xb_q <= {XWORD{1'b0}};
    end endgenerate

    always @(posedge ap_clk) begin
        if (!ap_rst_n) begin
            nf <= 0; sf <= 0; waddr <= 0; a_valid <= 1'b0;
            a_src <= 1'b0; a_first <= 1'b0; a_last <= 1'b0; a_nf <= 0;
        end else if (en) begin
            a_valid <= step;
            if (step) begin
                a_src <= !from_stream;
                a_first <= (sf == 0);
                a_last <= (sf == SF - 1);
                a_nf <= nf;
                waddr <= (waddr == WD - 1) ? {WAW{1'b0}} : waddr + 1'b1;
                if (sf == SF - 1) begin
                    sf <= 0;
                    nf <= (nf == NF - 1) ? {NFW{1'b0}} : nf + 1'b1;
                end else begin
                    sf <= sf + 1'b1;
                end
            end
        end
    end
endmodule
