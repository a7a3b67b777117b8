"""The Table 4 HTML report in a real headless browser (Debian's chromium): it renders, its images load,
no console errors. A control page with a broken image proves the probe can fail."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest

from fpga_flow.table4.render import write_outputs

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (make setup installs it)")

PROBE = """<script>
window.__errs = [];
window.addEventListener('error', e => window.__errs.push(String(e.message || (e.target && e.target.src) || e)), true);
const _ce = console.error; console.error = (...a) => { window.__errs.push(a.join(' ')); _ce(...a); };
window.addEventListener('load', () => {
  const imgs = [...document.images];
  const p = document.createElement('pre'); p.id = 'probe';
  p.textContent = JSON.stringify({images: imgs.length, loaded: imgs.filter(i => i.complete && i.naturalWidth > 0).length,
                                  tables: document.querySelectorAll('table').length, errors: window.__errs,
                                  title: document.title});
  document.body.appendChild(p);
});
</script>"""


def small_doc() -> dict:
    acc = {"metric": "balanced_accuracy", "float": 0.8, "quantized": 0.79, "hardware": 0.78, "n_images": 8}
    fpga = {"kind": "fpga", "task": "Classification", "model": "vgg16-pruned", "device": "FPGA Pynq-Z2", "board": "Pynq-Z2",
            "clock_mhz": 100.0, "input": "32x32", "weights": "trained", "numeric_format": "W4A4", "fps": 500.0,
            "latency_ms": 4.0, "source": "rtlsim", "noisy": False, "speedup": 2.5, "baseline": "vgg16-pruned on onnxruntime",
            "accuracy": acc, "resources": {"lut": 20000, "ff": 30000, "dsp": 100, "bram18": 100, "uram": 0, "fits": True,
                                           "budget": {"lut": 53200, "ff": 106400, "dsp": 220, "bram18": 280, "uram": 0},
                                           "source": "yosys"}, "status": "ok"}
    cpu = {"kind": "cpu", "task": "Classification", "model": "vgg16-pruned", "backend": "cpu-onnxruntime",
           "device": "CPU onnxruntime (fp32, 2 threads) - test cpu", "board": None, "numeric_format": "fp32",
           "fps": 200.0, "latency_ms": 5.0, "source": "measured", "noisy": True, "noise": ["only 10 runs (< 30)"],
           "speedup": 1.0, "baseline": "vgg16-pruned on onnxruntime", "is_baseline": True, "fair_baseline": True,
           "accuracy": acc | {"this_row": 0.8}, "resources": None, "status": "ok"}
    ref = [{"task": "Classification", "model": "VGG16", "device": "CPU", "latency_ms": 1430.29, "fps": 0.7,
            "speedup": None, "source": "reference (Flich et al., ICIP 2022)"}]
    return {"rows": [fpga, cpu], "reference": ref,
            "machine": {"generated": "now", "cpu": "test cpu", "isa": [], "load_average": [0.1, 0.1, 0.1]}}


def browse(html_path, tmp_path) -> tuple[dict, str]:
    page = html_path.with_name("probe.html")
    page.write_text(html_path.read_text().replace("<head>", "<head>" + PROBE, 1))
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={tmp_path / 'chrome-profile'}", "--enable-logging=stderr", "--v=0",
           "--virtual-time-budget=5000", "--dump-dom", page.as_uri()]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    m = re.search(r'<pre id="probe">(.*?)</pre>', p.stdout, re.S)
    assert m, f"chromium rendered nothing (rc {p.returncode}): {p.stderr[-2000:]}"
    return json.loads(m.group(1).replace("&quot;", '"').replace("&amp;", "&")), p.stderr


def console_errors(stderr: str) -> list[str]:
    return [l for l in stderr.splitlines() if "CONSOLE" in l and ("Uncaught" in l or "rror" in l)]


def test_table4_html_renders_in_chromium_with_images_and_no_errors(tmp_path):
    _, html = write_outputs(small_doc(), tmp_path / "t4")
    probe, stderr = browse(html, tmp_path)
    assert probe["title"] == "fpga_flow Table 4" and probe["tables"] == 2
    assert probe["images"] >= 3 and probe["loaded"] == probe["images"]
    assert probe["errors"] == [] and console_errors(stderr) == []


def test_the_probe_sees_a_broken_image_and_a_script_error(tmp_path):
    _, html = write_outputs(small_doc(), tmp_path / "t4")
    html.write_text(html.read_text().replace("</body>", '<img src="data:image/png;base64,AAAA"/>'
                                             "<script>undefined_function()</script></body>"))
    probe, stderr = browse(html, tmp_path)
    assert probe["loaded"] == probe["images"] - 1
    assert any("undefined_function" in e for e in probe["errors"])
