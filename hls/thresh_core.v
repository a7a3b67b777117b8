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
    output reg  [PE*ACT_BITS-1:0]                    y
);
    localparam N_THR = (1 << ACT_BITS) - 1;
    localparam CWB = (V_BITS + 1 > THR_BITS) ? V_BITS + 1 : THR_BITS;
    localparam CW = CWB + 1;            // compare width, both sides sign-extended
    localparam SW = ACT_BITS + 2;       // count width

    integer p, t;
    reg [CW-1:0] ve, te;
    reg [SW-1:0] cntv;
    reg [31:0] sumv;
    always @(*) begin
        y = {PE*ACT_BITS{1'b0}};
        for (p = 0; p < PE; p = p + 1) begin
            ve = {{CW{V_SIGNED ? v[p*V_BITS + V_BITS - 1] : 1'b0}}};
            ve[V_BITS-1:0] = v[p*V_BITS +: V_BITS];
            cntv = {SW{1'b0}};
            for (t = 0; t < N_THR; t = t + 1) begin
                te = {CW{thr[(p*N_THR + t)*THR_BITS + THR_BITS - 1]}};
                te[THR_BITS-1:0] = thr[(p*N_THR + t)*THR_BITS +: THR_BITS];
                // signed compare ve >= te: flip sign bits, compare unsigned
                if ({~ve[CW-1], ve[CW-2:0]} >= {~te[CW-1], te[CW-2:0]})
                    cntv = cntv + 1'b1;
            end
            sumv = ACT_BIAS + cntv;
            y[p*ACT_BITS +: ACT_BITS] = sumv[ACT_BITS-1:0];
        end
    end
endmodule
