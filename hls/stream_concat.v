// stream_concat: channel concatenation of N_IN streams (StreamingConcat), the skip join.
// Per pixel: WORDS[0] words of input 0, then WORDS[1] of input 1, ..., each element widened
// (sign- or zero-extended) to OUT_BITS. Input k occupies PE*BITS[k] bits of s_axis_tdata above
// inputs 0..k-1 (input 0 in the LSBs); bit k of tvalid/tready belongs to input k. Per-input
// values are packed parameters (Verilog-2001 has no array parameters), element 0 in the LSBs.
// One word per cycle; global stall on output backpressure.
module stream_concat #(
    parameter N_IN = 2,
    parameter PE = 1,
    parameter OUT_BITS = 4,
    parameter IN_WIDTH = 8,                          // PE * (sum of BITS)
    parameter [16*N_IN-1:0] WORDS = {16'd2, 16'd2},  // channels / PE of each input
    parameter [8*N_IN-1:0] BITS = {8'd4, 8'd4},
    parameter [N_IN-1:0] SIGNED = 0,
    parameter NUM_PIXELS = 0                         // informative (pixels per frame)
) (
    input  wire                    ap_clk,
    input  wire                    ap_rst_n,
    input  wire [IN_WIDTH-1:0]     s_axis_tdata,
    input  wire [N_IN-1:0]         s_axis_tvalid,
    output wire [N_IN-1:0]         s_axis_tready,
    output wire [PE*OUT_BITS-1:0]  m_axis_tdata,
    output wire                    m_axis_tvalid,
    input  wire                    m_axis_tready
);
    localparam SW = N_IN > 2 ? $clog2(N_IN) : 1;
    reg [SW-1:0] sel;               // input being read

    function integer offset(input integer k);   // first bit of input k in s_axis_tdata
        integer j;
        begin
            offset = 0;
            for (j = 0; j < k; j = j + 1)
                offset = offset + PE * BITS[8*j +: 8];
        end
    endfunction

    function integer max_words(input integer dummy);
        integer j;
        begin
            max_words = 1;
            for (j = 0; j < N_IN; j = j + 1)
                if (WORDS[16*j +: 16] > max_words) max_words = WORDS[16*j +: 16];
        end
    endfunction
    localparam CW = $clog2(max_words(0) + 1);
    reg [CW-1:0] cnt;               // word of the selected input within the pixel

    wire [PE*OUT_BITS-1:0] wide [0:N_IN-1];
    wire [N_IN-1:0] is_last;        // input k is selected and at its pixel's last word
    genvar k, p;
    generate for (k = 0; k < N_IN; k = k + 1) begin : g_in
        localparam integer B = BITS[8*k +: 8];
        localparam integer OFF = offset(k);
        for (p = 0; p < PE; p = p + 1) begin : g_lane
            wire [B-1:0] v = s_axis_tdata[OFF + p*B +: B];
            // widened through 64 bits (no zero-width replication when OUT_BITS equals B)
            wire [63:0] vx = {{(64-B){SIGNED[k] ? v[B-1] : 1'b0}}, v};
            assign wide[k][p*OUT_BITS +: OUT_BITS] = vx[OUT_BITS-1:0];
        end
        // a constant per input (no variable part-select of WORDS in hardware)
        assign is_last[k] = (sel == k) && (cnt == WORDS[16*k +: 16] - 1);
    end endgenerate

    reg [PE*OUT_BITS-1:0] out_q;
    reg out_valid;
    wire en = !out_valid || m_axis_tready;
    wire cur_valid = s_axis_tvalid[sel];
    wire take = en && cur_valid;
    wire last_word = |is_last;
    assign s_axis_tready = en ? ({{(N_IN-1){1'b0}}, 1'b1} << sel) : {N_IN{1'b0}};
    assign m_axis_tdata = out_q;
    assign m_axis_tvalid = out_valid;

    always @(posedge ap_clk) begin
        if (!ap_rst_n) begin
            sel <= 0;
            cnt <= 0;
            out_valid <= 1'b0;
        end else if (en) begin
            out_valid <= cur_valid;
            if (take) begin
                out_q <= wide[sel];
                cnt <= last_word ? {CW{1'b0}} : cnt + 1'b1;
                if (last_word)
                    sel <= (sel == N_IN - 1) ? {SW{1'b0}} : sel + 1'b1;
            end
        end
    end
endmodule
