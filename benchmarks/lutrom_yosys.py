"""Yosys LUTs of an MVAU weight ROM in LUTs (ram_style=distributed, hls/mvau_ctrl.v) against the model's
``lutrom`` term (one LUT per 64 words and bit), 36 bits wide at depths 64..2,048 and a few foldings; one JSON
line per shape (benchmarks/results/lutrom-yosys.jsonl). Run: PYTHONPATH=$PWD .venv/bin/python benchmarks/lutrom_yosys.py"""
import json, time, math
from pathlib import Path
import numpy as np
from fpga_flow.compiler.hw import make_hw_node
from fpga_flow.compiler.hw.mvau import MVAU
from fpga_flow.sim.unit import hls_sources
from fpga_flow.synth import run_yosys
rng = np.random.default_rng(5)
# (MW, MH, PE, SIMD): width PE*SIMD*4, depth MW*MH/(PE*SIMD)
for mw, mh, pe, simd in [(64,9,9,1),(128,9,9,1),(256,9,9,1),(512,9,9,1),(1024,9,9,1),(2048,9,9,1),(576,16,4,4),(1152,32,8,2)]:
    t=time.time()
    op = MVAU(make_hw_node("MVAU", "x", "y", name="MVAU_0", MW=mw, MH=mh, PE=pe, SIMD=simd, numInputVectors=[1],
                           inputDataType="UINT4", weightDataType="INT4", weights=rng.integers(-8, 8, (mw, mh)), ram_style="distributed"))
    ww, wd = pe*simd*4, mw*mh//(pe*simd)
    d = Path(f"/tmp/lutrom_{ww}_{wd}"); d.mkdir(exist_ok=True)
    (d / "w.mem").write_text("\n".join(op.rtl_memories()["WEIGHT_FILE"]) + "\n")
    r = run_yosys("rom", "mvau_ctrl", hls_sources("mvau_ctrl"), "xc7", d / "ys", cwd=d, ltp=False,
                  dsp=False, params={"NF": mh // pe, "SF": mw // simd, "WW": ww, "XWORD": 4,
                                     "WEIGHT_FILE": "w.mem", "RAM_STYLE": "distributed"})
    res = r.as_dict()["resources"]
    print(json.dumps({"ww":ww,"wd":wd,"lut":res.get("lut"),"bram18":res.get("bram18"),"model_lutrom":ww*math.ceil(wd/64),"s":round(time.time()-t,1)}), flush=True)
