// label_select: argmax over LABELS values per vector, ties to the lowest index (LabelSelect).
// Input: LF = LABELS/PE words of PE x IN_BITS (signed when SIGNED) per vector; output one
// OUT_BITS = max(1, clog2(LABELS)) unsigned index per vector. NUM_VECTORS is informative.
module label_select #(
    parameter LABELS = 4,
    parameter PE = 1,
    parameter IN_BITS = 8,
    parameter SIGNED = 0,
    parameter NUM_VECTORS = 1,
    parameter OUT_BITS = (LABELS > 2) ? $clog2(LABELS) : 1
) (
    input  wire                  ap_clk,
    input  wire                  ap_rst_n,
    input  wire [PE*IN_BITS-1:0] s_axis_tdata,
    input  wire                  s_axis_tvalid,
    output wire                  s_axis_tready,
    output wire [OUT_BITS-1:0]       m_axis_tdata,
    output wire                  m_axis_tvalid,
    input  wire                  m_axis_tready
);
    localparam LF = LABELS / PE;
    localparam LFW = (LF > 1) ? $clog2(LF) : 1;
    localparam IW = OUT_BITS + 1;

    reg [LFW-1:0] lf;
    reg [IN_BITS-1:0] best_key;
    reg [IW-1:0] best_idx;
    reg [OUT_BITS-1:0] out_q;
    reg out_valid;

    wire en = !out_valid || m_axis_tready;
    wire take = en && s_axis_tvalid;
    assign s_axis_tready = en;
    assign m_axis_tdata = out_q;
    assign m_axis_tvalid = out_valid;

    // word-local argmax (first maximum), keys in offset binary so that unsigned compare works
    reg [IN_BITS-1:0] wkey, k;
    reg [IW-1:0] widx;
    reg [IN_BITS-1:0] nkey;
    reg [IW-1:0] nidx;
    integer p;
    always @(*) begin
        wkey = s_axis_tdata[IN_BITS-1:0];
        if (SIGNED != 0) wkey[IN_BITS-1] = ~wkey[IN_BITS-1];
        widx = 0;
        for (p = 1; p < PE; p = p + 1) begin
            k = s_axis_tdata[p*IN_BITS +: IN_BITS];
            if (SIGNED != 0) k[IN_BITS-1] = ~k[IN_BITS-1];
            if (k > wkey) begin wkey = k; widx = p; end
        end
        widx = widx + lf * PE;
        if (lf == 0 || wkey > best_key) begin nkey = wkey; nidx = widx; end
        else begin nkey = best_key; nidx = best_idx; end
    end

    always @(posedge ap_clk) begin
        if (!ap_rst_n) begin
            lf <= 0; out_valid <= 1'b0; best_key <= 0; best_idx <= 0;
        end else begin
            if (en) out_valid <= take && (lf == LF - 1);
            if (take) begin
                best_key <= nkey;
                best_idx <= nidx;
                if (lf == LF - 1) begin lf <= 0; out_q <= nidx[OUT_BITS-1:0]; end
                else lf <= lf + 1'b1;
            end
        end
    end
endmodule
