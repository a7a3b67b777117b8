"""CLI commands of fpga_flow.data: ``fpga-flow data synth`` and ``fpga-flow data info``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from fpga_flow.cli_options import FlowCommand, choice, existing_dir, writable

console = Console()


def register(app: typer.Typer) -> None:
    data_app = typer.Typer(help="ISIC datasets: synthesize, inspect", no_args_is_help=True, rich_markup_mode=None)

    @data_app.command("synth", cls=FlowCommand, help="Write a synthetic dermoscopy dataset in an ISIC layout.")
    def _synth(
        out: Path = typer.Option(..., "--out", callback=writable, help="output folder"),
        task: str = typer.Option("cls", "--task", callback=choice("cls", "seg"), help="cls | seg"),
        n: int = typer.Option(200, "-n", "--n-images", min=1, max=100_000, help="number of images"),
        seed: int = typer.Option(0, "--seed", min=0, help="random seed of the generator"),
        size: int = typer.Option(128, "--image-size", min=16, max=1024, help="image side in pixels"),
        layout: Optional[str] = typer.Option(None, "--layout", callback=choice("isic2019", "ham10000", "ham10000_dx"),
                                             help="cls: isic2019 (default) | ham10000 | ham10000_dx"),
        overwrite: bool = typer.Option(False, "--overwrite", help="write over an existing synthetic dataset"),
    ) -> None:
        from fpga_flow.data.synth import generate

        summary = generate(out, task=task, n=n, seed=seed, size=size, layout=layout, overwrite=overwrite)
        console.print(f"wrote {summary['n']} {summary['task']} images ({summary['layout']} layout, "
                      f"{size}px) to {out}: {summary['counts']}", highlight=False)

    @data_app.command("info", cls=FlowCommand, help="Counts per class and split of an ISIC dataset.")
    def _info(
        root: Optional[Path] = typer.Option(None, "--data", help="dataset root (default: $ISIC_ROOT)"),
        task: Optional[str] = typer.Option(None, "--task", callback=choice("cls", "seg"),
                                           help="cls | seg (default: every task found)"),
        seed: int = typer.Option(0, "--seed", min=0, help="seed of the train/val/test split"),
        as_json: bool = typer.Option(False, "--json", help="print JSON"),
    ) -> None:
        from fpga_flow.data.info import dataset_info

        info = dataset_info(root, task, seed)
        if as_json:
            print(json.dumps(info, indent=2))
            return
        for t, d in info.items():
            table = Table(title=f"{t}: {d['layout']} at {d['root']} ({d['n']} images, {len(d['skipped'])} skipped)")
            names = list(d["splits"]["train"])
            table.add_column("split")
            for c in names:
                table.add_column(c, justify="right")
            table.add_column("total", justify="right")
            for s, counts in d["splits"].items():
                table.add_row(s, *(str(counts[c]) for c in names), str(sum(counts.values())))
            console.print(table)
            for line in d["skipped"][:10]:
                console.print(f"  skipped {line}", highlight=False)

    app.add_typer(data_app, name="data")
