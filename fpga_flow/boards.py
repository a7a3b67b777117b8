"""Target boards: one YAML per board in ``boards/``, loaded and validated into :class:`Board`."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml

from fpga_flow.errors import FlowError

BOARDS_DIR = Path(__file__).resolve().parent.parent / "boards"

FAMILIES = ("xc7", "xcup")  # yosys synth_xilinx -family
PS_TYPES = ("zynq7", "zynq_us+")
RESOURCE_KEYS = ("lut", "ff", "dsp", "bram18", "bram36", "uram", "lutram")
REQUIRED = ("name", "part", "family", "ps", "clock_mhz", "axi_hp_width", "resources")
OPTIONAL = ("board_part", "description", "dram")
DRAM_KEYS = ("type", "peak_mb_s", "weight_ports", "derating", "source")


@dataclass(frozen=True)
class Resources:
    """Counts of FPGA primitives. BRAM is counted in 18 Kb halves (``bram18``) and 36 Kb blocks."""

    lut: int = 0
    ff: int = 0
    dsp: int = 0
    bram18: int = 0
    bram36: int = 0
    uram: int = 0
    lutram: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass(frozen=True)
class DramLink:
    """The path that streams ``mem_mode=external`` weights from DRAM: ``weight_ports`` AXI HP ports of
    ``axi_hp_width`` bits at the fabric clock, behind a DDR of ``peak_mb_s``, of which a fraction
    ``derating`` is assumed sustained for DMA reads (a stated assumption, not a measurement)."""

    type: str
    peak_mb_s: float
    weight_ports: int = 1
    derating: float = 0.7
    source: str = ""

    def bytes_per_cycle(self, clock_mhz: float, axi_hp_width: int) -> float:
        """Sustained weight bytes per fabric clock cycle (MB/s / MHz = bytes per cycle)."""
        port_mb_s = self.weight_ports * axi_hp_width / 8 * clock_mhz
        return min(port_mb_s, self.peak_mb_s) * self.derating / clock_mhz


@dataclass(frozen=True)
class Board:
    name: str
    part: str
    family: str  # "xc7" | "xcup"
    ps: str  # "zynq7" | "zynq_us+"
    clock_mhz: float
    axi_hp_width: int
    resources: Resources
    board_part: str = ""
    description: str = ""
    dram: DramLink | None = None  # None: external weights are not throttled (no figure for the board)
    source: str = ""  # the YAML it came from

    def weight_bytes_per_cycle(self) -> float | None:
        """Sustained DRAM bytes per cycle for streamed weights, or None without a ``dram`` figure."""
        return None if self.dram is None else self.dram.bytes_per_cycle(self.clock_mhz, self.axi_hp_width)

    @property
    def clock_period_ns(self) -> float:
        return 1e3 / self.clock_mhz

    def budget(self) -> dict[str, int]:
        """Budget per resource; BRAM in 18 Kb units (``bram18``), the unit the report checks."""
        r = self.resources
        return {"lut": r.lut, "ff": r.ff, "dsp": r.dsp, "bram18": r.bram18, "uram": r.uram}

    def as_dict(self) -> dict:
        d = asdict(self)
        d.pop("source")
        return d


def _int(value, key: str, path: Path) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise FlowError(f"{path}: {key} must be an integer, got {value!r}")
    if value < 0:
        raise FlowError(f"{path}: {key} must be >= 0, got {value}")
    return value


def parse_board(data, path: Path) -> Board:
    """Validate the mapping read from ``path`` and build a :class:`Board`."""
    if not isinstance(data, dict):
        raise FlowError(f"{path}: expected a mapping of board fields, got {type(data).__name__}")
    unknown = sorted(set(data) - set(REQUIRED) - set(OPTIONAL))
    if unknown:
        raise FlowError(f"{path}: unknown key(s) {', '.join(map(str, unknown))} (allowed: {', '.join(REQUIRED + OPTIONAL)})")
    missing = [k for k in REQUIRED if k not in data]
    if missing:
        raise FlowError(f"{path}: missing key(s) {', '.join(missing)}")
    for key in ("name", "part"):
        if not isinstance(data[key], str) or not data[key]:
            raise FlowError(f"{path}: {key} must be a non-empty string")
    if data["family"] not in FAMILIES:
        raise FlowError(f"{path}: family must be one of {', '.join(FAMILIES)}, got {data['family']!r}")
    if data["ps"] not in PS_TYPES:
        raise FlowError(f"{path}: ps must be one of {', '.join(PS_TYPES)}, got {data['ps']!r}")
    clk = data["clock_mhz"]
    if isinstance(clk, bool) or not isinstance(clk, (int, float)) or not clk > 0:
        raise FlowError(f"{path}: clock_mhz must be a positive number, got {clk!r}")
    hp = _int(data["axi_hp_width"], "axi_hp_width", path)
    if hp not in (32, 64, 128):
        raise FlowError(f"{path}: axi_hp_width must be 32, 64 or 128, got {hp}")
    res = data["resources"]
    if not isinstance(res, dict):
        raise FlowError(f"{path}: resources must be a mapping")
    unknown = sorted(set(res) - set(RESOURCE_KEYS))
    if unknown:
        raise FlowError(f"{path}: unknown resource(s) {', '.join(map(str, unknown))} (allowed: {', '.join(RESOURCE_KEYS)})")
    missing = [k for k in RESOURCE_KEYS if k not in res]
    if missing:
        raise FlowError(f"{path}: missing resource(s) {', '.join(missing)}")
    r = Resources(**{k: _int(res[k], f"resources.{k}", path) for k in RESOURCE_KEYS})
    if r.bram18 != 2 * r.bram36:
        raise FlowError(f"{path}: resources.bram18 ({r.bram18}) must be 2 x bram36 ({r.bram36})")
    if r.lutram > r.lut:
        raise FlowError(f"{path}: resources.lutram ({r.lutram}) exceeds lut ({r.lut})")
    if data["family"] == "xc7" and r.uram:
        raise FlowError(f"{path}: 7-series parts have no URAM, got uram={r.uram}")
    for key in ("board_part", "description"):
        if key in data and not isinstance(data[key], str):
            raise FlowError(f"{path}: {key} must be a string")
    dram = parse_dram(data["dram"], path) if "dram" in data else None
    return Board(name=data["name"], part=data["part"], family=data["family"], ps=data["ps"],
                 clock_mhz=float(clk), axi_hp_width=hp, resources=r, board_part=data.get("board_part", ""),
                 description=data.get("description", ""), dram=dram, source=str(path))


def _positive(value, key: str, path: Path) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise FlowError(f"{path}: {key} must be a positive number, got {value!r}")
    return float(value)


def parse_dram(d, path: Path) -> DramLink:
    if not isinstance(d, dict):
        raise FlowError(f"{path}: dram must be a mapping ({', '.join(DRAM_KEYS)})")
    unknown = sorted(set(d) - set(DRAM_KEYS))
    if unknown:
        raise FlowError(f"{path}: unknown dram key(s) {', '.join(map(str, unknown))} (allowed: {', '.join(DRAM_KEYS)})")
    if "peak_mb_s" not in d:
        raise FlowError(f"{path}: dram.peak_mb_s is missing (the DDR peak bandwidth in MB/s)")
    derating = _positive(d.get("derating", 0.7), "dram.derating", path)
    if derating > 1:
        raise FlowError(f"{path}: dram.derating must be in (0, 1], got {derating}")
    ports = _int(d.get("weight_ports", 1), "dram.weight_ports", path)
    if ports < 1:
        raise FlowError(f"{path}: dram.weight_ports must be >= 1, got {ports}")
    for key in ("type", "source"):
        if key in d and not isinstance(d[key], str):
            raise FlowError(f"{path}: dram.{key} must be a string")
    return DramLink(type=d.get("type", ""), peak_mb_s=_positive(d["peak_mb_s"], "dram.peak_mb_s", path),
                    weight_ports=ports, derating=derating, source=d.get("source", ""))


def load_board_file(path: str | os.PathLike) -> Board:
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as err:
        raise FlowError(f"{path}: cannot read board file ({err.strerror})") from err
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise FlowError(f"{path}: invalid YAML ({str(err).splitlines()[0]})") from err
    return parse_board(data, path)


def board_files(boards_dir: str | os.PathLike | None = None) -> dict[str, Path]:
    d = Path(boards_dir) if boards_dir else BOARDS_DIR
    if not d.is_dir():
        raise FlowError(f"{d}: boards folder not found")
    return {p.stem: p for p in sorted(d.glob("*.yaml"))}


def known_boards(boards_dir: str | os.PathLike | None = None) -> list[str]:
    return list(board_files(boards_dir))


def load_board(name: str | os.PathLike, boards_dir: str | os.PathLike | None = None) -> Board:
    """The board ``name`` (case-insensitive: ``pynq-z2`` = ``Pynq-Z2``), or a path to a YAML file."""
    if isinstance(name, Board):
        return name
    s = str(name)
    if s.endswith((".yaml", ".yml")) or os.sep in s:
        return load_board_file(s)
    files = board_files(boards_dir)
    by_lower = {k.lower(): p for k, p in files.items()}
    path = by_lower.get(s.lower())
    if path is None:
        raise FlowError(f"unknown board {s!r}: known boards are {', '.join(files)}")
    board = load_board_file(path)
    if board.name.lower() != path.stem.lower():
        raise FlowError(f"{path}: name {board.name!r} does not match the file name")
    return board


def all_boards(boards_dir: str | os.PathLike | None = None) -> list[Board]:
    return [load_board(n, boards_dir) for n in known_boards(boards_dir)]
