"""Run the PYNQ notebooks off-board with nbclient (backend rtlsim, or a cpu reference backend)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from fpga_flow.errors import FlowError

REPO = Path(__file__).resolve().parents[2]


def inject_parameters(nb, params: dict) -> None:
    """papermill convention: a cell after the one tagged ``parameters`` overrides its values."""
    import nbformat

    idx = next((i for i, c in enumerate(nb.cells) if "parameters" in c.get("metadata", {}).get("tags", [])), None)
    if idx is None:
        raise FlowError("notebook has no cell tagged 'parameters'")
    src = "\n".join(f"{k} = {json.dumps(v) if not isinstance(v, bool) else v}" for k, v in params.items())
    cell = nbformat.v4.new_code_cell(src, metadata={"tags": ["injected-parameters"]})
    nb.cells.insert(idx + 1, cell)


def run_notebook(path: str | Path, params: dict, out_path: str | Path | None = None, *, cwd: str | Path | None = None,
                 timeout: int = 600):
    """Execute ``path`` with ``params``; write the executed copy to ``out_path``; FlowError naming the failing cell."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    path = Path(path)
    if not path.is_file():
        raise FlowError(f"{path}: notebook not found")
    nb = nbformat.read(path, as_version=4)
    inject_parameters(nb, params)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", extra_arguments=["--log-level=ERROR"],
                            resources={"metadata": {"path": str(cwd or path.parent)}})
    try:
        client.execute()
    except CellExecutionError as err:
        last = re.sub(r"\x1b\[[0-9;]*m", "", str(err)).strip().splitlines()
        raise FlowError(f"{path.name} failed on backend {params.get('backend')}: {last[-1] if last else err}") from None
    finally:
        if out_path is not None:
            Path(out_path).parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, out_path)
    return nb


def run_deploy_notebook(deploy_dir: str | Path, backend: str = "rtlsim", build_dir: str | Path | None = None) -> Path:
    """Run the task's notebook on ``deploy_dir``; the executed notebook lands beside it."""
    from fpga_flow.runtime.deploy import NOTEBOOK, validate_deploy

    d = validate_deploy(deploy_dir)
    nb = REPO / "notebooks" / NOTEBOOK[d.task]
    out = Path(deploy_dir) / "notebooks" / nb.name.replace(".ipynb", f".{backend}.ipynb")
    params = {"backend": backend, "deploy_dir": str(Path(deploy_dir).resolve())}
    if build_dir is not None:
        params["build_dir"] = str(Path(build_dir).resolve())
    run_notebook(nb, params, out, cwd=deploy_dir)
    return out
