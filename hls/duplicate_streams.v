// duplicate_streams: stream fork (DuplicateStreams). Every input word goes to all N_OUT
// outputs. Output k is bits [k*WIDTH, (k+1)*WIDTH) of m_axis_tdata, bit k of tvalid/tready.
// One register per output: a new word is taken once every output has taken the previous one
// (in the same cycle at the latest), so the outputs may drain at different times and one word
// per cycle flows when all consumers are ready. The branch behind the faster output must be
// able to buffer what the slower branch holds back (compiler: codegen's branch FIFO sizing).
module duplicate_streams #(
    parameter WIDTH = 8,
    parameter N_OUT = 2,
    parameter NUM_WORDS = 0         // informative (words per frame)
) (
    input  wire                   ap_clk,
    input  wire                   ap_rst_n,
    input  wire [WIDTH-1:0]       s_axis_tdata,
    input  wire                   s_axis_tvalid,
    output wire                   s_axis_tready,
    output wire [N_OUT*WIDTH-1:0] m_axis_tdata,
    output wire [N_OUT-1:0]       m_axis_tvalid,
    input  wire [N_OUT-1:0]       m_axis_tready
);
    reg [WIDTH-1:0] data;
    reg [N_OUT-1:0] pending;

    // every pending word leaves this cycle
    assign s_axis_tready = (pending & ~m_axis_tready) == {N_OUT{1'b0}};
    assign m_axis_tvalid = pending;
    assign m_axis_tdata = {N_OUT{data}};

    always @(posedge ap_clk) begin
        if (!ap_rst_n) begin
            pending <= {N_OUT{1'b0}};
        end else if (s_axis_tready && s_axis_tvalid) begin
            data <= s_axis_tdata;
            pending <= {N_OUT{1'b1}};
        end else begin
            pending <= pending & ~m_axis_tready;
        end
    end
endmodule
