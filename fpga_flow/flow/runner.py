"""The stage runner: each stage names its outputs, a stage whose outputs exist is skipped (a re-run
resumes), a changed setting re-runs its stage and every later one; ``flow.json`` records the status."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from rich.console import Console

from fpga_flow.errors import BitstreamSkipped, FlowError, NotBuiltYet
from fpga_flow.flow.config import CONFIG_STAGE, FlowConfig
from fpga_flow.runtime.buildinfo import read_json, write_json

console = Console(soft_wrap=True)  # long paths and summaries stay on one line (logs, tests)


class StageSkipped(FlowError):
    """A stage that chose not to run (said why): later stages still run, a re-run tries it again."""


@dataclass
class Stage:
    name: str
    outputs: tuple[str, ...]  # relative to the build folder (data: to the data root)
    run: Callable[["Flow"], None]
    what: str = ""
    check: Callable[["Flow"], None] | None = None  # outputs of an earlier run are reused only once this passes


@dataclass
class Flow:
    cfg: FlowConfig
    log: list[dict] = field(default_factory=list)
    skipped: BitstreamSkipped | None = None  # set when Vivado was not run: everything else is built

    # ---- helpers -----------------------------------------------------------------------------
    def path(self, rel: str) -> Path:
        return self.cfg.bdir / rel

    def loaders(self, batch_size: int = 16, size: int | None = None):
        from fpga_flow.data import get_loaders
        from fpga_flow.models.train import check_splits

        loaders = get_loaders(self.cfg.data_root, self.cfg.task, image_size=size or self.cfg.image_size,
                              batch_size=batch_size, seed=self.cfg.seed)
        check_splits(loaders)
        return loaders

    def note(self, text: str) -> None:
        console.print(f"      {text}", highlight=False)

    def done(self, stage: Stage) -> bool:
        if stage.name == "data" and self.cfg.data is not None:
            return False
        root = self.cfg.data_root if stage.name == "data" else self.cfg.bdir
        return bool(stage.outputs) and all((root / o).exists() for o in stage.outputs)

    def changed_from(self, old: dict) -> str | None:
        """The first stage whose settings differ from the ones the build folder was made with."""
        new = {k: str(v) if isinstance(v, Path) else v for k, v in asdict(self.cfg).items()}
        for stage, keys in CONFIG_STAGE:
            if any(k in old and old[k] != new[k] for k in keys):
                return stage
        return None

    def run(self, stages: list[Stage]) -> None:
        try:
            self.cfg.bdir.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise FlowError(f"cannot create the build folder {self.cfg.bdir}: {err.strerror}") from None
        state = read_json(self.path("flow.json")) or {}
        first_changed = self.changed_from(state.get("config") or {})
        if first_changed:
            console.print(f"settings changed since the last run: re-running from `{first_changed}`", style="yellow")
        state.update(model=self.cfg.model, board=self.cfg.board, task=self.cfg.task,
                     config={k: str(v) if isinstance(v, Path) else v for k, v in asdict(self.cfg).items()})
        state.setdefault("stages", {})
        console.print(self.cfg.summary(), highlight=False)
        skipped: BitstreamSkipped | None = None
        stale = False  # once a stage re-runs, every later stage re-runs: its inputs changed
        for i, st in enumerate(stages, 1):
            head = f"[{i}/{len(stages)}] {st.name:<9}"
            stale = stale or st.name == first_changed
            if not stale and self.done(st):
                if st.check is not None:
                    try:
                        st.check(self)
                    except FlowError:
                        state["stages"][st.name] = {"status": "failed"}
                        write_json(self.path("flow.json"), state)
                        raise
                console.print(f"{head} skip: {', '.join(st.outputs)} exist", style="dim", highlight=False)
                continue
            console.print(f"{head} {st.what}", style="bold", highlight=False)
            t0 = time.perf_counter()
            try:
                st.run(self)
            except (BitstreamSkipped, StageSkipped) as err:  # everything after Vivado still runs
                skipped = err if isinstance(err, BitstreamSkipped) else skipped
                state["stages"][st.name] = {"status": "skipped", "why": str(err)}
                console.print(f"      skipped: {err}", style="yellow", highlight=False)
                continue
            except FlowError:
                state["stages"][st.name] = {"status": "failed"}
                write_json(self.path("flow.json"), state)
                raise
            dt = time.perf_counter() - t0
            stale = stale or st.name != "data"
            state["stages"][st.name] = {"status": "done", "seconds": round(dt, 2)}
            write_json(self.path("flow.json"), state)
            console.print(f"      done in {dt:.1f} s", style="green", highlight=False)
        write_json(self.path("flow.json"), state)
        self.skipped = skipped



def stage_api(modules: str | tuple[str, ...], *names: str, stage: str):
    """The first of ``names`` found in ``modules`` (another stage's public API), or NotBuiltYet naming the stage."""
    import importlib

    modules = (modules,) if isinstance(modules, str) else modules
    for module in modules:
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as err:
            if err.name != module:  # the module exists but is broken: say so
                raise NotBuiltYet(f"stage {stage}: {module} does not import ({err})") from None
            continue
        for n in names:
            if hasattr(mod, n):
                return getattr(mod, n)
    raise NotBuiltYet(f"stage {stage}: none of {', '.join(names)} in {', '.join(modules)} yet")

