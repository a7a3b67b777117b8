"""One Table 4 row's 224x224 figures -> ``benchmarks/results/<row>-<size>-<board>.json``.

The figures come from ``fpga-flow table4`` (its ``table4.json``: the accelerator's row with its source,
resources and accuracy block, the CPU rows, the speedup and its baseline), the weight provenance from the
build folder the row was made in (the pruned float and quantized checkpoints' provenance files, sha256
included). Nothing is re-measured here.

    fpga-flow table4 --row vgg16-hcr --board Pynq-Z2 --build-root build --out build/table4-hcr
    .venv/bin/python benchmarks/row_results.py build/table4-hcr/table4.json --row vgg16-hcr --board Pynq-Z2
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

RESULTS = Path(__file__).parent / "results"
PROVENANCE = {"pruned": "checkpoints/pruned.provenance.json", "quantized": "quant/model.quant.provenance.json",
              "store": "checkpoints/store.json"}


def _read(path: Path) -> dict | None:
    return json.loads(path.read_text()) if path.is_file() else None


def row_results(table4: Path, row: str, board: str, command: str) -> dict:
    doc = json.loads(Path(table4).read_text())
    rows = [r for r in doc["rows"] if r.get("model") == row]
    fpga = [r for r in rows if r.get("kind") == "fpga" and r.get("board") == board]
    if not fpga:
        raise SystemExit(f"{table4}: no FPGA row of {row} on {board} (rows: "
                         f"{sorted({(r.get('model'), r.get('board')) for r in doc['rows']})})")
    fpga = fpga[0]
    if fpga.get("status") != "ok":
        raise SystemExit(f"{table4}: the {row} row on {board} is {fpga.get('status')!r}, not ok")
    bdir = Path(fpga["build_dir"])
    provenance = {k: _read(bdir / p) for k, p in PROVENANCE.items()}
    return {"model": row, "input": fpga["input"], "board": board, "clock_mhz": fpga["clock_mhz"],
            "weights": fpga["weights"], "fpga": fpga, "cpu": [r for r in rows if r.get("kind") != "fpga"],
            "speedup": fpga.get("speedup"), "baseline": fpga.get("baseline"), "accuracy": fpga.get("accuracy"),
            "resources": fpga.get("resources"), "provenance": provenance, "machine": doc.get("machine"),
            "commands": [command, f"benchmarks/row_results.py {table4} --row {row} --board {board}"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("table4", type=Path, help="table4.json written by fpga-flow table4")
    ap.add_argument("--row", required=True)
    ap.add_argument("--board", required=True)
    ap.add_argument("--command", default="fpga-flow table4", help="the table4 command that wrote it (recorded)")
    ap.add_argument("--out", type=Path, default=RESULTS)
    a = ap.parse_args()
    res = row_results(a.table4, a.row, a.board, a.command)
    size = str(res["input"]).split("x")[0]
    out = a.out / f"{a.row}-{size}-{a.board}.json"
    out.write_text(json.dumps(res, indent=1, default=str) + "\n")
    acc = res["accuracy"] or {}
    print(f"{out}: {res['fpga']['fps']:.2f} FPS [{res['fpga']['source']}], speedup {res['speedup']} vs "
          f"{res['baseline']}; accuracy {acc.get('metric')}: float {acc.get('float')}, quantized "
          f"{acc.get('quantized')}, hardware {acc.get('hardware')} on {acc.get('n_images')} images")


if __name__ == "__main__":
    main()
