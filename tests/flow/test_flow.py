"""Flow orchestration: stage order, resume (skip stages whose outputs exist), Vivado skip line and exit code."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from fpga_flow.errors import BitstreamSkipped, FlowError
from fpga_flow.flow import STAGES, Flow, FlowConfig, Stage, st_vivado


def _writer(rel: str, calls: list):
    def run(f: Flow) -> None:
        calls.append(rel)
        p = f.path(rel)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("x")
    return run


def test_stages_run_in_order_and_resume_skips_finished_ones(tmp_path):
    calls: list = []
    stages = [Stage("a", ("a.txt",), _writer("a.txt", calls)), Stage("b", ("sub/b.txt",), _writer("sub/b.txt", calls))]
    cfg = FlowConfig(build_root=tmp_path)
    Flow(cfg).run(stages)
    assert calls == ["a.txt", "sub/b.txt"]
    state = json.loads((cfg.bdir / "flow.json").read_text())
    assert state["model"] == "vgg16-pruned" and state["task"] == "cls" and state["stages"]["b"]["status"] == "done"
    (cfg.bdir / "sub" / "b.txt").unlink()
    Flow(cfg).run(stages)
    assert calls == ["a.txt", "sub/b.txt", "sub/b.txt"]  # only the stage whose output went missing
    (cfg.bdir / "a.txt").unlink()
    Flow(cfg).run(stages)
    assert calls[3:] == ["a.txt", "sub/b.txt"]  # a re-run stage makes every later stage re-run


def test_failure_stops_the_flow_and_is_recorded(tmp_path):
    calls: list = []

    def boom(f):
        raise FlowError("stage b: broken input")

    stages = [Stage("a", ("a.txt",), _writer("a.txt", calls)), Stage("b", ("b.txt",), boom),
              Stage("c", ("c.txt",), _writer("c.txt", calls))]
    cfg = FlowConfig(build_root=tmp_path)
    with pytest.raises(FlowError, match="broken input"):
        Flow(cfg).run(stages)
    assert calls == ["a.txt"]
    assert json.loads((cfg.bdir / "flow.json").read_text())["stages"]["b"]["status"] == "failed"


def test_missing_vivado_skips_bitstream_but_runs_the_rest(tmp_path, monkeypatch, capsys):
    import shutil

    monkeypatch.setattr(shutil, "which", lambda name: None)
    calls: list = []
    stages = [Stage("vivado", (), st_vivado), Stage("deploy", ("deploy/deploy.json",), _writer("deploy/deploy.json", calls))]
    cfg = FlowConfig(build_root=tmp_path)
    f = Flow(cfg)
    f.run(stages)  # not an error: everything but the bitstream is built
    assert isinstance(f.skipped, BitstreamSkipped) and "vivado is not on PATH" in str(f.skipped)
    assert f.skipped.exit_code == 3 and calls == ["deploy/deploy.json"]
    assert json.loads((cfg.bdir / "flow.json").read_text())["stages"]["vivado"]["status"] == "skipped"
    assert capsys.readouterr().out.count("bitstream not built") == 1


@pytest.mark.parametrize("require, code", [(False, 0), (True, 3)])
def test_bitstream_without_vivado_exits_0_unless_required(tmp_path, monkeypatch, require, code):
    """Through the CLI with every stage but vivado stubbed: the skip is said once; exit 3 only on request."""
    import shutil

    from typer.testing import CliRunner

    import fpga_flow.flow as flow
    from fpga_flow.cli import app

    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setattr(flow, "STAGES", tuple(Stage(s.name, s.outputs, st_vivado if s.name == "vivado" else
                                                    (lambda f: None), s.what) for s in flow.STAGES))
    args = ["bitstream", "--build-root", str(tmp_path), "--image-size", "32", "--width", "0.125"]
    r = CliRunner().invoke(app, args + (["--require-bitstream"] if require else []))
    # fpga_flow.cli.main turns a FlowError into its exit code; the runner calls the app directly
    assert (r.exception.exit_code if isinstance(r.exception, FlowError) else r.exit_code) == code, r.output
    assert r.output.count("bitstream not built") == 1
    assert "vgg16-pruned on Pynq-Z2: input 32×32, width ×0.125, W4A4 (first/last layer W8/W8); data: synthetic ISIC set" in r.output
    assert ("everything but the bitstream is built" in r.output) != require
    r = CliRunner().invoke(app, ["bitstream", "--build-root", str(tmp_path)])  # a plain re-run says what it reuses
    assert "reusing the settings" in r.output and "--image-size 32, --width 0.125" in r.output


def test_stage_list_covers_the_whole_flow():
    assert [s.name for s in STAGES] == ["data", "train", "prune", "quantize", "build", "codegen", "rtlsim", "synth",
                                        "vivado", "deploy", "bench", "metrics"]
    cfg = FlowConfig(model="segnet-pruned", board="ZCU104", build_root=Path("b"))
    assert cfg.task == "seg" and cfg.base == "segnet" and cfg.bdir == Path("b/segnet-pruned-ZCU104")


def test_cli_unknown_model_is_one_line_and_nonzero(tmp_path):
    r = subprocess.run([sys.executable, "-c", "from fpga_flow.cli import main; main()", "bitstream", "--model", "resnet",
                        "--build-root", str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "Invalid value for '--model': 'resnet' is not one of" in r.stderr
    assert "Traceback" not in r.stderr and not any(tmp_path.iterdir())


def test_train_reuses_a_given_checkpoint_and_checks_it(tmp_path):
    from fpga_flow.flow import st_train
    from fpga_flow.models import build, save_checkpoint

    cfg_m = {"in_size": 32, "width": 0.0625}
    ck = save_checkpoint(tmp_path / "vgg.pt", build("vgg16", **cfg_m), "vgg16", cfg_m, {"test_balanced_accuracy": 0.5})
    f = Flow(FlowConfig(build_root=tmp_path / "b", image_size=32, checkpoint=ck))
    st_train(f)
    assert (f.cfg.bdir / "checkpoints" / "float.pt").read_bytes() == ck.read_bytes()
    with pytest.raises(FlowError, match=r"input \(32, 32\), the flow runs at 64x64"):
        st_train(Flow(FlowConfig(build_root=tmp_path / "c", image_size=64, train_size=None, checkpoint=ck)))
    seg = save_checkpoint(tmp_path / "seg.pt", build("segnet", **cfg_m), "segnet", cfg_m)
    with pytest.raises(FlowError, match="a segnet checkpoint, the flow for vgg16-pruned needs vgg16"):
        st_train(Flow(FlowConfig(build_root=tmp_path / "d", image_size=32, checkpoint=seg)))


def test_changed_settings_rerun_from_the_first_affected_stage(tmp_path):
    calls: list = []
    stages = [Stage(n, (f"{n}.txt",), _writer(f"{n}.txt", calls)) for n in ("train", "prune", "quantize", "build")]
    Flow(FlowConfig(build_root=tmp_path, wbits=4)).run(stages)
    assert calls == ["train.txt", "prune.txt", "quantize.txt", "build.txt"]
    Flow(FlowConfig(build_root=tmp_path, wbits=4)).run(stages)
    assert len(calls) == 4  # same settings: all skipped
    Flow(FlowConfig(build_root=tmp_path, wbits=3)).run(stages)
    assert calls[4:] == ["quantize.txt", "build.txt"]


def test_bitstream_settings_default_to_those_of_the_build_folder(tmp_path):
    from fpga_flow.flow import resolve_config

    assert resolve_config("vgg16-pruned", "Pynq-Z2", tmp_path).image_size == 224  # nothing recorded: defaults
    Flow(FlowConfig(build_root=tmp_path, image_size=32, width=0.125, epochs=10)).run([])
    cfg = resolve_config("vgg16-pruned", "Pynq-Z2", tmp_path, epochs=None, wbits=3)
    assert (cfg.image_size, cfg.width, cfg.epochs, cfg.wbits, cfg.build_root) == (32, 0.125, 10, 3, tmp_path)


def test_a_folder_made_by_the_demo_resumes_without_retraining(tmp_path):
    """`make bitstream` after `make demo`: the demo records train_size None (train at image_size); the default 32
    must not replace it, or the resumed flow sees a changed setting and trains again from scratch."""
    from fpga_flow.flow import DEMO, resolve_config, reused_settings
    from fpga_flow.flow_cli import reuse_note

    demo = FlowConfig(build_root=tmp_path, **DEMO["vgg16-pruned"])
    Flow(demo).run([])
    cfg = resolve_config("vgg16-pruned", "Pynq-Z2", tmp_path)
    assert cfg.train_size is None and cfg.low_size == 32 and cfg.prune_lam == 0.2
    assert Flow(cfg).changed_from(json.loads((demo.bdir / "flow.json").read_text())["config"]) is None
    note = reuse_note(demo.bdir, reused_settings("vgg16-pruned", "Pynq-Z2", tmp_path))
    assert "--image-size 32, --train-size 0, --width 0.125" in note and "--epochs 10" in note
    assert "also prune_lam 0.2" in note and "(no option sets these)" in note


def test_hardware_accuracy_uses_the_whole_test_split_within_the_sim_budget(tmp_path):
    from fpga_flow.flow import RTLSIM_BUDGET_CYCLES, _test_count

    f = Flow(FlowConfig(build_root=tmp_path))
    assert _test_count(f, 120) == 120  # no estimate yet: every image
    f.cfg.bdir.mkdir(parents=True)
    (f.cfg.bdir / "estimates.json").write_text(json.dumps({"total": {"cycles_per_frame": 2300}}))
    assert _test_count(f, 120) == 120  # a toy build: the whole split
    (f.cfg.bdir / "estimates.json").write_text(json.dumps({"total": {"cycles_per_frame": 1_505_280}}))
    assert _test_count(f, 1000) == int(RTLSIM_BUDGET_CYCLES // 1_505_280)  # 224x224 on Pynq-Z2: capped
    f.cfg.n_test = 8
    assert _test_count(f, 120) == 8 and _test_count(f, 5) == 5  # asked for
