// thresh_core: combinational multi-threshold unit shared by `thresholding` and `mvau`.
// For each of PE lanes: out = ACT_BIAS + sum_t [v >= T[t]] (N_THR = 2^ACT_BITS - 1
// ascending signed thresholds of THR_BITS), truncated to ACT_BITS (two's complement when
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

    genvar gp, gt, gi;
    generate
        for (gp = 0; gp < PE; gp = gp + 1) begin : g_pe
            wire [V_BITS-1:0] vv = v[gp*V_BITS +: V_BITS];
            // sign-extend to CW bits and flip the sign bit: signed order == unsigned order
            wire [CW-1:0] vk = {~((V_SIGNED != 0) & vv[V_BITS-1]), {(CW-1-V_BITS){(V_SIGNED != 0) & vv[V_BITS-1]}}, vv};
            // heap-ordered adder tree over the compare bits (leaves cn[N_THR .. 2*N_THR-1])
            wire [SW-1:0] cn [1:2*N_THR-1] /*verilator split_var*/;
            for (gt = 0; gt < N_THR; gt = gt + 1) begin : g_t
                wire [THR_BITS-1:0] tt = thr[(gp*N_THR + gt)*THR_BITS +: THR_BITS];
                wire [CW-1:0] tk = {~tt[THR_BITS-1], {(CW-THR_BITS){tt[THR_BITS-1]}}, tt[THR_BITS-2:0]};
                assign cn[N_THR + gt] = (vk >= tk) ? 1 : 0;
            end
            for (gi = 1; gi < N_THR; gi = gi + 1) begin : g_tree
                assign cn[gi] = cn[2*gi] + cn[2*gi + 1];
            end
            wire [31:0] outv = BIAS + cn[1];
            assign y[gp*ACT_BITS +: ACT_BITS] = outv[ACT_BITS-1:0];
        end
    endgenerate
endmodule
