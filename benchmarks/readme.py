"""Write the README's benchmark figures from the benchmark's JSON.

The README's "Training-loop benchmark" section holds, between the markers
``<!-- benchmark:start -->`` and ``<!-- benchmark:end -->``, text generated
here from the JSON that ``python -m benchmarks.training_loops --json PATH``
writes: the machine, the table of methods and the seed curve, and the
sentences that quote their numbers. Nothing between the markers is typed by
hand. Regenerate with::

    python -m benchmarks.readme benchmarks/latest.json README.md

``--check`` exits with status 1 when the README differs from the JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

START, END = "<!-- benchmark:start -->", "<!-- benchmark:end -->"
MODES = ("alternating", "joint")


def _rate(value: float) -> str:
    return f"{value:,.0f}"


def _methods_table(methods: dict[str, Any]) -> list[str]:
    lines = [
        "| method | alternating steps/s | x Session | joint steps/s | x Session |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name, per_mode in methods.items():
        label = f"`{name}`"
        cells = []
        for mode in MODES:
            entry = per_mode.get(mode)
            if entry is None:
                cells += ["n/a", ""]
                continue
            if "steps_per_execution" in entry:
                label = f"`{name}` (steps_per_execution={entry['steps_per_execution']})"
            cells += [_rate(entry["steps_per_s"]), f"{entry['ratio_to_session']:.2f}"]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines


def _seed_table(results: dict[str, Any]) -> list[str]:
    curves = {name: results[key] for name, key in (("without XLA", "seeds"), ("with XLA", "seeds_xla")) if key in results}
    header = "| seeds S |" + "".join(f" seed-steps/s {name} | x sequential |" for name in curves)
    lines = [header, "| ---: |" + " ---: | ---: |" * len(curves)]
    for count in next(iter(curves.values())):
        cells = []
        for curve in curves.values():
            point = curve[count]
            cells += [_rate(point["seed_steps_per_s"]), f"{point['ratio_to_sequential']:.2f}"]
        lines.append(f"| {count} | " + " | ".join(cells) + " |")
    return lines


def _sentences(results: dict[str, Any]) -> list[str]:
    methods, sentences = results["methods"], []
    for mode in MODES:
        xla, loop = methods["compiled_loop_xla"][mode], methods["compiled_loop"][mode]
        sentence = (
            f"In {mode} training the XLA loop runs {xla['ratio_to_session']:.1f} times the `Session`'s steps per second "
            f"and {xla['steps_per_s'] / loop['steps_per_s']:.1f} times the loop without XLA"
        )
        if mode in methods.get("keras_fit", {}):
            sentence += f"; Keras `fit` at its best runs {methods['keras_fit'][mode]['ratio_to_session']:.2f} times the `Session`"
        sentences.append(sentence + ".")
    tf_function = methods["tf_function"]["alternating"]["ratio_to_session"]
    sentences.append(f"The per-step API (`AlternatingTrainer.step`) runs {tf_function:.2f} times the `Session`.")
    for name, key in (("without XLA", "seeds"), ("with XLA", "seeds_xla")):
        curve = results.get(key, {})
        if "10" in curve and "1" in curve:
            sentences.append(
                f"Ten seeds in one batched loop {name} train {curve['10']['ratio_to_sequential']:.1f} times the seed-steps per "
                f"second of ten runs one after another, and one seed {curve['1']['ratio_to_sequential']:.2f} times."
            )
    return sentences


def render(results: dict[str, Any]) -> str:
    """The generated part of the README's benchmark section, from the benchmark's JSON."""
    machine = results["machine"]
    load = machine.get("load_1min_start"), machine.get("load_1min_end")
    threads = results.get("threads")
    on = f" on {threads} thread{'s' if threads != 1 else ''}" if threads else ""
    lines = [
        START,
        f"Latest run, {results['date']}: {machine['cpu']}, {machine['cores']} CPU cores, {machine['system']} "
        f"{machine['machine']}, Python {machine['python']}, TensorFlow {machine['tensorflow']}{on}; load average "
        f"{load[0]:.1f} at the start and {load[1]:.1f} at the end (1 minute; 0 is a quiet machine).",
        "",
        *_methods_table(results["methods"]),
        "",
        *_sentences(results),
    ]
    if "seeds" in results:
        lines += ["", "Seeds in one compiled call (alternating training, each seed with its own schedule):", "",
                  *_seed_table(results)]
    return "\n".join([*lines, END])


def rewrite(readme: Path, results: dict[str, Any]) -> bool:
    """Replace the text between the markers of ``readme``; return whether it changed."""
    text = readme.read_text(encoding="utf-8")
    if text.count(START) != 1 or text.count(END) != 1 or text.index(START) > text.index(END):
        raise ValueError(f"{readme} must hold one {START} ... {END} block where the figures go")
    before, rest = text.split(START)
    _, after = rest.split(END)
    new = before + render(results) + after
    if new != text:
        readme.write_text(new, encoding="utf-8")
    return new != text


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: ``python -m benchmarks.readme RESULTS.json README.md [--check]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, help="the JSON written by benchmarks.training_loops --json")
    parser.add_argument("readme", type=Path, nargs="?", default=Path("README.md"))
    parser.add_argument("--check", action="store_true", help="only check that the README shows the JSON's figures")
    args = parser.parse_args(argv)
    results = json.loads(args.results.read_text(encoding="utf-8"))
    if args.check:
        text = args.readme.read_text(encoding="utf-8")
        current = text[text.index(START) : text.index(END) + len(END)] if START in text and END in text else ""
        if current != render(results):
            print(f"{args.readme} does not show {args.results}; run python -m benchmarks.readme {args.results} {args.readme}")
            return 1
        return 0
    changed = rewrite(args.readme, results)
    print(f"{args.readme}: {'updated' if changed else 'already up to date'} from {args.results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
