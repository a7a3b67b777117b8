// thresh_core: combinational multi-threshold unit shared by `thresholding` and `mvau`.
// For each of PE lanes: out = ACT_BIAS + sum_t [v >= T[t]] (N_THR = 2^ACT_BITS - 1
// ascending signed thresholds of THR_BITS; found by binary search, so they must be
// ascending), truncated to ACT_BITS (two's complement when
// ACT_BIAS < 0). v is V_BITS wide, signed when V_SIGNED.
module thresh_core #(
    parameter PE       = 1,
    parameter V_BITS   = 8,
    parameter V_SIGNED = 1,
    parameter THR_BITS = 8,
    parameter ACT_BITS = 2,
    parameter ACT_BIAS = 0
) (
    input  wire [PE*V_BITS-1:0]                      v,
    input  wire [PE*((1<<ACT_BITS)-1)*THR_BITS-1:0]  thr,
    output wire [PE*ACT_BITS-1:0]                    y
);
    localparam N_THR = (1 << ACT_BITS) - 1;
    localparam CWB = (V_BITS + 1 > THR_BITS) ? V_BITS + 1 : THR_BITS;
    localparam CW = CWB + 1;            // compare width, both sides sign-extended
    localparam SW = ACT_BITS + 1;       // count width (0 .. N_THR)
    localparam [31:0] BIAS = ACT_BIAS;

    genvar gp, gt, go;
    generate
        for (gp = 0; gp < PE; gp = gp + 1) begin : g_pe
            wire [V_BITS-1:0] vv = v[gp*V_BITS +: V_BITS];
            // sign-extend to CW bits and flip the sign bit: signed order == unsigned order
            wire [CW-1:0] vk = {~((V_SIGNED != 0) & vv[V_BITS-1]), {(CW-1-V_BITS){(V_SIGNED != 0) & vv[V_BITS-1]}}, vv};
            // binary search over the ascending thresholds: ACT_BITS comparators, each against the
            // threshold picked by the bits decided so far (instead of N_THR comparators and a
            // popcount: a quarter of the LUTs at ACT_BITS = 4). cnt = #{t : v >= T[t]}.
            wire [ACT_BITS-1:0] bits_at [0:ACT_BITS] /*verilator split_var*/;
            assign bits_at[0] = {ACT_BITS{1'b0}};
            for (gt = 0; gt < ACT_BITS; gt = gt + 1) begin : g_step
                localparam integer K = ACT_BITS - 1 - gt;            // bit decided in this step
                localparam integer NO = 1 << gt;                     // thresholds it may need
                // option o (o = the bits decided so far) is T[o * 2^(K+1) + 2^K - 1]
                wire [NO*THR_BITS-1:0] opts;
                for (go = 0; go < NO; go = go + 1) begin : g_opt
                    assign opts[go*THR_BITS +: THR_BITS] =
                        thr[(gp*N_THR + go * (2 << K) + (1 << K) - 1)*THR_BITS +: THR_BITS];
                end
                wire [THR_BITS-1:0] tt;
                if (gt == 0) begin : g_first
                    assign tt = opts;
                end else begin : g_sel
                    wire [gt-1:0] decided = bits_at[gt][ACT_BITS-1 -: gt];
                    assign tt = opts[decided*THR_BITS +: THR_BITS];
                end
                wire [CW-1:0] tk = {~tt[THR_BITS-1], {(CW-THR_BITS){tt[THR_BITS-1]}}, tt[THR_BITS-2:0]};
                assign bits_at[gt + 1] = bits_at[gt] | ((vk >= tk) ? (1 << K) : 0);
            end
            wire [SW-1:0] cnt = {1'b0, bits_at[ACT_BITS]};
            wire [31:0] outv = BIAS + cnt;
            assign y[gp*ACT_BITS +: ACT_BITS] = outv[ACT_BITS-1:0];
        end
    endgenerate
endmodule
