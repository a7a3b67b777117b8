"""CPU-vs-FPGA report."""
