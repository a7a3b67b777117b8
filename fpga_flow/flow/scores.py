"""The stage-accuracy ledger from inside the flow: each model stage's test score, with a warning when a
stage loses more than its bound (``fpga_flow.stage_accuracy``)."""

from __future__ import annotations

from fpga_flow.flow.runner import Flow, console


def score(f: Flow, stage: str, model, loaders, split: str = "test", bound: float | None = None) -> dict:
    """Evaluate ``model`` on ``split`` and add it to the stage-accuracy ledger."""
    from fpga_flow.models.train import evaluate

    m = evaluate(model, loaders[split], f.cfg.task)
    size = int(getattr(model, "input_shape", (0, f.cfg.image_size))[-1])
    record(f, stage, m, split, len(loaders[split].dataset), size, bound)
    return m


def record_float(f: Flow, model, metrics: dict, images: int | None = None) -> None:
    """The float model's test score as its training run recorded it (``test_<metric>``), else evaluated."""
    size = int(getattr(model, "input_shape", (0, f.cfg.image_size))[-1])
    test = {k.removeprefix("test_"): v for k, v in metrics.items() if k.startswith("test_")}
    from fpga_flow.models.train import main_metric

    if main_metric(f.cfg.task) not in test:
        score(f, "float", model, f.loaders(size=size))
        return
    record(f, "float", test, "test", images if images is not None else -1, size, None)


def record(f: Flow, stage: str, metrics: dict, split: str, images: int, size: int, bound: float | None) -> None:
    """One stage's score in ``stage_accuracy.json``; a stage that loses more than ``bound`` points is a warning."""
    from fpga_flow import stage_accuracy
    from fpga_flow.models.train import main_metric

    metric = main_metric(f.cfg.task)
    warn = stage_accuracy.record(f.cfg.bdir, f.cfg.row_name, stage_accuracy.StageScore(
        stage, metric, float(metrics[metric]), split, images, size, bound))
    if warn:
        console.print(f"      WARNING: {warn}", style="bold yellow", highlight=False)


