"""The offline replay of the cascade: synthetic data through stubs and through the real classifier and gate,
the CLI on a tiny on-disk dataset, and (when present) the real ARC-Challenge file."""

from __future__ import annotations

import csv
import json
import math
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from tiered_router.cli import main
from tiered_router.evaluate import evaluate, load
from tiered_router.evaluate.datasets import Answer, Dataset, Item
from tiered_router.evaluate.report import MARK_END, MARK_START, markdown, update_section

REPO = Path(__file__).resolve().parent.parent
RB_MODELS = ("mistralai/mistral-7b-chat", "meta/llama-2-70b-chat", "gpt-4-1106-preview")


def eval_dir() -> Path:
    return Path(os.environ.get("TIER_EVAL_DIR", REPO.parent / "shared" / "eval"))


# prompt -> (score, starting tier); the gate rejects the text "bad".
# prompt  start  t1 (cost 1)   t2 (cost 10)   t3 (cost 100)   cascade            cost
# p0      1      ok   right     ok  right      right           t1 kept, right     1
# p1      1      bad  wrong     ok  right      right           t1 -> t2, right    11
# p2      1      bad  wrong     bad wrong      right           t1 -> t2 -> t3     111
# p3      2      ok   wrong     ok  wrong      wrong           t2 kept, wrong     10
# p4      2      bad  wrong     bad wrong      right           t2 -> t3, right    110
# p5      1      ok   wrong     ok  wrong      right           t1 kept, wrong     1
STUB = {"p0": (0.1, 1), "p1": (0.2, 1), "p2": (0.3, 1), "p3": (0.8, 2), "p4": (0.9, 2), "p5": (0.4, 1)}
ROWS = {
    "p0": [("ok", 1), ("ok", 1), ("ok", 1)],
    "p1": [("bad", 0), ("ok", 1), ("ok", 1)],
    "p2": [("bad", 0), ("bad", 0), ("ok", 1)],
    "p3": [("ok", 0), ("ok", 0), ("ok", 0)],
    "p4": [("bad", 0), ("bad", 0), ("ok", 1)],
    "p5": [("ok", 0), ("ok", 0), ("ok", 1)],
}


def synthetic() -> Dataset:
    items = tuple(
        Item(p, tuple(Answer(float(c), cost, text) for (text, c), cost in zip(ans, (1.0, 10.0, 100.0), strict=True)))
        for p, ans in ROWS.items()
    )
    return Dataset("toy", "Toy", ("small", "large", "cloud"), "choice", "$", items, "synthetic")


def stub_gate(prompt: str, text: str, fmt: str | None) -> tuple[bool, str]:
    return (text == "bad", "bad-answer" if text == "bad" else "ok")


def test_replay_synthetic_cascade() -> None:
    rep = evaluate(synthetic(), classify_fn=STUB.__getitem__, gate_fn=stub_gate)
    assert rep.n == 6
    assert rep.weak_acc == pytest.approx(1 / 6)
    assert rep.strong_acc == pytest.approx(5 / 6)

    ours = rep.row("cascade").point
    assert ours.accuracy == pytest.approx(4 / 6)
    assert ours.cost == pytest.approx((1 + 11 + 111 + 10 + 110 + 1) / 6)
    assert ours.calls == pytest.approx((4 / 6, 4 / 6, 2 / 6))
    assert ours.strong_pct == pytest.approx(100 * 2 / 6)

    # The classifier alone keeps whatever its starting tier said.
    assert rep.row("classifier").point.accuracy == pytest.approx(1 / 6)
    assert rep.row("always-1").point.cost == pytest.approx(1.0)
    assert rep.row("always-3").point.accuracy == pytest.approx(5 / 6)
    # Oracle: cheapest right model; p3 nobody gets right (tier 1 then).
    assert rep.row("oracle").point.accuracy == pytest.approx(5 / 6)
    assert rep.row("oracle").point.cost == pytest.approx((1 + 10 + 100 + 1 + 100 + 100) / 6)

    g = rep.gate
    assert (g.rejected, g.rejected_wrong, g.rejected_gap, g.gap) == (3, 3, 3, 4)
    assert g.escalation_rate == pytest.approx(0.5)
    assert g.accuracy == pytest.approx(4 / 6)
    assert g.pgr == pytest.approx(0.75)
    assert g.reasons == {"1": {"bad-answer": 3}, "2": {"bad-answer": 2}}

    # The combined curve passes through the gate-only point (all 3 rejected answers escalated, 50 % strong),
    # and every escalated prompt also paid for tier 1.
    combined = rep.row("cascade").curve
    at_gate = [p for p in combined if p.strong_pct == pytest.approx(50.0)]
    assert at_gate and at_gate[0].accuracy == pytest.approx(4 / 6)
    assert at_gate[0].cost == pytest.approx((1 + 101 + 101 + 1 + 101 + 1) / 6)
    assert rep.row("random").apgr == pytest.approx(0.5)
    for row in rep.rows:
        if row.curve:
            assert [p.strong_pct for p in row.curve] == sorted(p.strong_pct for p in row.curve)
    json.dumps(rep.to_dict())  # serialisable (NaN -> null)


def test_replay_caches_classification_per_prompt() -> None:
    calls: list[str] = []

    def counting(prompt: str) -> tuple[float, int]:
        calls.append(prompt)
        return STUB[prompt]

    ds = synthetic()
    doubled = Dataset(ds.name, ds.title, ds.models, ds.answer_format, ds.cost_unit, ds.items + ds.items, ds.source)
    cache: dict[str, tuple[float, int]] = {}
    evaluate(doubled, classify_fn=counting, gate_fn=stub_gate, cache=cache)
    evaluate(doubled, classify_fn=counting, gate_fn=stub_gate, cache=cache)
    assert sorted(calls) == sorted(STUB)


def test_replay_two_models_without_responses() -> None:
    """RouteLLM-style data: tier 2 and above are the strong model; no texts means no gate rows."""
    items = tuple(Item(f"q{i}", (Answer(float(i % 2), 0.0, None), Answer(1.0, 1.0, None))) for i in range(10))
    ds = Dataset("two", "Two", ("weak", "strong"), "choice", "strong calls", items, "synthetic")
    rep = evaluate(ds, classify_fn=lambda p: (int(p[1:]) / 10, 3 if p == "q9" else 1), gate_fn=stub_gate)
    assert not rep.gate.available
    assert {r.key for r in rep.rows} == {"always-1", "always-2", "random", "length", "oracle", "classifier"}
    clf = rep.row("classifier").point
    assert clf.strong_pct == pytest.approx(10.0)  # tier 3 maps onto the strong model
    assert clf.cost == pytest.approx(0.1)  # RouteLLM's unit: share of strong calls


def test_replay_with_the_real_classifier_and_gate() -> None:
    refusal = "I'm sorry, but I can't help with that."
    items = (
        Item("Which gas do plants absorb?\nA) oxygen\nB) carbon dioxide\nAnswer:",
             (Answer(1.0, 1.0, "B"), Answer(1.0, 5.0, "B"), Answer(1.0, 50.0, "B"))),
        Item("Which planet is largest?\nA) Mars\nB) Jupiter\nAnswer:",
             (Answer(0.0, 1.0, refusal), Answer(1.0, 5.0, "B"), Answer(1.0, 50.0, "B"))),
        Item("Which is a mammal?\nA) whale\nB) shark\nAnswer:",
             (Answer(0.0, 1.0, "A or B"), Answer(0.0, 5.0, "I think B"), Answer(1.0, 50.0, "A"))),
    )
    ds = Dataset("mini", "Mini", ("s", "l", "c"), "choice", "$", items, "synthetic")
    rep = evaluate(ds)
    assert rep.gate.available
    assert rep.gate.rejected >= 2  # the refusal and the hedge are caught by the real gate
    assert any(r.startswith("refusal") for r in rep.gate.reasons["1"])
    for row in rep.rows:
        assert 0.0 <= row.point.accuracy <= 1.0


# ---- Markdown section -----------------------------------------------------------------------------


def test_update_section_keeps_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "BENCHMARKS.md"
    path.write_text("# Benchmarks\n\nbudget numbers\n", encoding="utf-8")
    update_section(path, "first")
    update_section(path, "second")
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# Benchmarks\n\nbudget numbers\n")
    assert text.count(MARK_START) == 1 and text.count(MARK_END) == 1
    assert "second" in text and "first" not in text
    path.write_text(text + "\ntrailing section\n", encoding="utf-8")
    update_section(path, "third")
    text = path.read_text(encoding="utf-8")
    assert "trailing section" in text and "third" in text and "second" not in text
    new = tmp_path / "new.md"
    update_section(new, "body")
    assert MARK_START in new.read_text(encoding="utf-8")


def test_markdown_table_lists_every_router() -> None:
    rep = evaluate(synthetic(), classify_fn=STUB.__getitem__, gate_fn=stub_gate)
    md = markdown([rep])
    for label in ("always tier 1", "random", "prompt length", "oracle", "classifier only", "gate only",
                  "cascade: classifier + gate"):
        assert f"| Toy | {label}" in md


# ---- the CLI on a tiny on-disk dataset ------------------------------------------------------------


def _write_routerbench(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    cols = ["", "sample_id", "prompt", "eval_name", *RB_MODELS]
    cols += [f"{m}|model_response" for m in RB_MODELS] + [f"{m}|total_cost" for m in RB_MODELS]
    rows = [
        ("Which is a metal?\nA) iron\nB) wood\nAnswer:", ["1.0", "1.0", "1.0"], ["A", "A", "A"]),
        ("Which is a gas?\nA) ice\nB) steam\nAnswer:", ["0.0", "1.0", "1.0"], ["A", "B", "B"]),
        ("Which is alive?\nA) rock\nB) tree\nAnswer:", ["0.0", "0.0", "1.0"], ["I cannot answer.", "A", "B"]),
        ("Missing score row\nA) x\nB) y\nAnswer:", ["", "1.0", "1.0"], ["A", "A", "A"]),
    ]
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(cols)
        for i, (prompt, scores, answers) in enumerate(rows):
            w.writerow([i, f"arc.{i}", repr([prompt]), "arc-challenge", *scores, *(repr([a]) for a in answers),
                        "0.0001", "0.0005", "0.005"])


def _write_gsm8k(root: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)
    weak, strong = "mistralai/Mixtral-8x7B-Instruct-v0.1", "gpt-4-1106-preview"
    with (root / "gsm8k_responses.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["prompt", weak, strong, f"{weak}_response", f"{strong}_response"])
        w.writerow(["Tom has 3 apples and buys 2. How many?", True, True, "3 + 2 = 5\n#### 5", "5"])
        w.writerow(["A train goes 60 km/h for 2 h. How far?", False, True, "Maybe 100 or 120", "120 km"])
        w.writerow(["Contaminated question?", True, True, "#### 1", "1"])
    (root / "gsm8k_contaminated_prompts.jsonl").write_text(
        json.dumps({"train_prompt": "x", "eval_prompt": "Contaminated question?", "train_idx": 0, "eval_idx": 2})
        + "\n", encoding="utf-8")


def test_cli_bench_routing_on_tiny_files(tmp_path: Path) -> None:
    data = tmp_path / "eval"
    _write_routerbench(data / "routerbench" / "arc_challenge_test.csv")
    _write_gsm8k(data / "routellm")
    md = tmp_path / "BENCHMARKS.md"
    runner = CliRunner()
    result = runner.invoke(main, ["bench-routing", "arc", "--data-dir", str(data), "--json", "--markdown", str(md)])
    assert result.exit_code == 0, result.output
    (rep,) = json.loads(result.stdout)
    assert rep["dataset"] == "arc" and rep["n"] == 3  # the row without a score is dropped
    assert rep["weak_acc"] == pytest.approx(1 / 3)
    assert rep["gate"]["rejected"] >= 1  # "I cannot answer." is sent up
    assert MARK_START in md.read_text(encoding="utf-8")

    result = runner.invoke(main, ["bench-routing", "gsm8k", "--data-dir", str(data)])
    assert result.exit_code == 0, result.output
    assert "GSM8K: 2 prompts" in result.output

    result = runner.invoke(main, ["bench-routing", "mmlu", "--data-dir", str(data)])
    assert result.exit_code == 2
    assert "benchmark data not found" in result.output


def test_plot_writes_png(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from tiered_router.evaluate.plot import plot_report

    rep = evaluate(synthetic(), classify_fn=STUB.__getitem__, gate_fn=stub_gate)
    out = plot_report(rep, tmp_path / "toy.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# ---- the real ARC-Challenge file ------------------------------------------------------------------


@pytest.mark.skipif(not (eval_dir() / "routerbench" / "arc_challenge_test.csv").exists(),
                    reason="shared eval data not present (set TIER_EVAL_DIR)")
def test_real_arc_challenge() -> None:
    ds = load("arc", eval_dir())
    assert len(ds.items) == 439  # 445 rows, 6 without a score for one of the three models
    assert ds.models == RB_MODELS
    rep = evaluate(ds)
    assert rep.weak_acc == pytest.approx(294 / 439)
    assert rep.strong_acc == pytest.approx(420 / 439)
    assert rep.row("always-3").point.cost == pytest.approx(0.005, rel=0.05)
    assert rep.row("random").apgr == pytest.approx(0.5)
    for key in ("classifier", "length", "cascade"):
        value = rep.row(key).apgr
        assert value is not None and not math.isnan(value) and 0.3 < value < 1.0
    assert rep.row("oracle").apgr > 0.8
    # Three models, three call shares; the cascade never does worse than tier 1 alone here.
    assert len(rep.row("cascade").point.calls) == 3
    assert rep.row("cascade").point.accuracy >= rep.weak_acc
