"""Verilator rtlsim of a build."""
