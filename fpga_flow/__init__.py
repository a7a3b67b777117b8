"""fpga_flow: PyTorch -> pruning -> Brevitas QAT -> QONNX -> dataflow compiler -> RTL for PYNQ/Zynq."""

__version__ = "0.1.0"
