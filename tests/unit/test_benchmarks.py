"""The training-loop benchmark's machinery (``benchmarks/``): the JSON, the README it writes, the seed curve."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import readme, seed_curve, training_loops
from mtl_helpers.speed import SpeedResult

ROOT = Path(__file__).resolve().parents[2]
LATEST = ROOT / "benchmarks" / "latest.json"


def test_readme_shows_the_latest_figures() -> None:
    """``make benchmark`` rewrote the README from ``benchmarks/latest.json``; nobody edited the figures by hand."""
    assert readme.main([str(LATEST), str(ROOT / "README.md"), "--check"]) == 0


def test_latest_json_has_the_keys_the_issue_names() -> None:
    latest = json.loads(LATEST.read_text(encoding="utf-8"))
    for name, modes in latest["methods"].items():
        for mode, entry in modes.items():
            assert mode in ("alternating", "joint") and {"steps_per_s", "ratio_to_session"} <= set(entry), name
    for key in ("seeds", "seeds_xla"):
        assert list(latest[key]) == [str(count) for count in seed_curve.SEED_COUNTS]
        for point in latest[key].values():
            assert {"seed_steps_per_s", "ratio_to_sequential", "load_1min"} <= set(point)
    assert latest["threads"] == seed_curve.THREADS and latest["machine"]["cores"] >= 1


def test_points_survive_the_json_between_the_processes() -> None:
    point = seed_curve.SeedPoint(10, 300_000.0, 100_000.0, 3.0, 6000, 1.2)
    assert seed_curve.points_from_json(json.loads(json.dumps({"10": point.as_json()}))) == [point]


def test_to_json_and_render_agree(tmp_path: Path) -> None:
    rates = {"session": 1000.0, "tf_function": 800.0, "compiled_loop": 5000.0, "compiled_loop_xla": 20_000.0}
    results = {mode: {name: SpeedResult(name, mode, rate, (rate,), 100) for name, rate in rates.items()}
               for mode in ("alternating", "joint")}
    curves = {key: [seed_curve.SeedPoint(count, 10_000.0 * count, 9000.0, 1.1 * count, 100, 0.5) for count in (1, 10)]
              for key in ("seeds", "seeds_xla")}
    output = training_loops.to_json(results, curves, load_start=0.5, quick=True)
    assert output["methods"]["compiled_loop"]["joint"]["ratio_to_session"] == 5.0
    assert output["seeds_xla"]["10"]["ratio_to_sequential"] == 11.0
    page = tmp_path / "README.md"
    page.write_text(f"before\n{readme.START}\nold\n{readme.END}\nafter\n", encoding="utf-8")
    assert readme.rewrite(page, output) and not readme.rewrite(page, output)
    text = page.read_text(encoding="utf-8")
    assert text.startswith("before\n") and text.endswith("after\n") and "old" not in text
    assert "| 10 | 100,000 | 11.00 | 100,000 | 11.00 |" in text
    assert "the XLA loop runs 20.0 times the `Session`'s steps per second and 4.0 times the loop without XLA" in text
    assert "Ten seeds in one batched loop with XLA train 11.0 times" in text
    assert f"on {seed_curve.THREADS} thread" in text
    page.write_text("no markers", encoding="utf-8")
    with pytest.raises(ValueError, match="must hold one"):
        readme.rewrite(page, output)


def test_seed_curve_measures_both_sides_in_turns() -> None:
    lines: list[str] = []
    [one, two] = seed_curve.measure_curve((1, 2), jit_compile=False, scale=0.01, repeats=1, log=lines.append)
    assert (one.seeds, two.seeds) == (1, 2) and one.steps == two.steps == 50
    for point in (one, two):
        assert point.ratio_to_sequential == pytest.approx(point.seed_steps_per_s / point.sequential_steps_per_s)
    assert len(lines) == 2 and "seeds=2" in lines[1]
