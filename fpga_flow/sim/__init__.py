"""Verilator rtlsim of a build.

Public API::

    from fpga_flow.sim.packing import pack, unpack, hex_lines     # SPEC.md word format (also the PYNQ driver's)
    from fpga_flow.sim.rtlsim import rtlsim, size_fifos, run_design, execute_hw_graph, RtlsimResult
    from fpga_flow.sim.unit import simulate_op, simulate, hls_sources # one hls/ module on its own
    from fpga_flow.sim.verilator import build, run, TbSpec            # the generic harness

CLI: ``fpga-flow sim --build DIR [--frames N]`` (``fpga_flow.sim.cli``).
"""
