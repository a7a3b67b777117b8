"""`fpga-flow table4`: build, simulate and benchmark every row of the reference Table 4 on each board,
beside the strongest CPU runtimes, into ``build/table4/`` (Markdown, HTML, plots, table4.json)."""
