"""`bench/warehouse_benchmark.py --markdown docs/benchmarks.md` (what `make bench` runs) adds its
run to the Warehouse section as a dated subsection: the earlier runs, and what was written
about them, stay; a rerun on the same day replaces only that day's figures."""

from __future__ import annotations

import importlib.util
import sys
from datetime import date
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench" / "warehouse_benchmark.py"

DOC = """# Benchmarks

## Warehouse

Measured by `python bench/warehouse_benchmark.py`.

| warehouse | run | total (s) |
| --- | --- | ---: |
| duckdb | full | 37.6 |

### 2026-11-26: after replication read by primary key

Prose about that run, and its table.

## Loader

Loader figures.
"""


def _bench():
    spec = importlib.util.spec_from_file_location("warehouse_benchmark", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("warehouse_benchmark", module)
    spec.loader.exec_module(module)
    return module


def test_a_run_is_added_and_the_history_stays(tmp_path: Path) -> None:
    bench = _bench()
    doc = tmp_path / "benchmarks.md"
    doc.write_text(DOC, encoding="utf-8")
    bench.write_markdown(doc, "first figures\n", day=date(2026, 12, 1))
    text = doc.read_text(encoding="utf-8")
    heading = "### 2026-12-01: `python bench/warehouse_benchmark.py`"
    before, loader = DOC.split("## Loader")
    assert text == f"{before.rstrip()}\n\n{heading}\n\nfirst figures\n\n## Loader{loader}"

    bench.write_markdown(doc, "second figures\n", day=date(2026, 12, 1))  # same day: replaced
    again = doc.read_text(encoding="utf-8")
    assert again == text.replace("first figures", "second figures")

    bench.write_markdown(doc, "next day\n", day=date(2026, 12, 2))
    later = doc.read_text(encoding="utf-8")
    assert later.count("### 2026-12-01") == 1 and "second figures" in later
    assert later.index("second figures") < later.index("### 2026-12-02") < later.index("## Loader")
    # every line written before is still there, in order
    lines = [line for line in DOC.splitlines() if line]
    kept = [line for line in later.splitlines() if line in lines]
    assert kept == lines


def test_a_missing_section_is_created(tmp_path: Path) -> None:
    bench = _bench()
    doc = tmp_path / "benchmarks.md"
    doc.write_text("# Benchmarks\n\n## Loader\n\nLoader figures.\n", encoding="utf-8")
    bench.write_markdown(doc, "figures\n", title="Report", script="bench/report_benchmark.py",
                         day=date(2026, 12, 1))  # fmt: skip
    text = doc.read_text(encoding="utf-8")
    assert text.startswith("# Benchmarks\n\n## Loader\n\nLoader figures.\n\n## Report\n")
    assert text.endswith("### 2026-12-01: `python bench/report_benchmark.py`\n\nfigures\n")
