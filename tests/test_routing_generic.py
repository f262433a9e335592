"""The generic format of recorded outcomes, and ``bench-routing`` on a file of them: intervals, the online
learner (``--online``), the second opinion (``--verify``) and ``--exclude``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tiered_router.cli import main
from tiered_router.evaluate import evaluate, load
from tiered_router.evaluate.generic import (
    FormatError,
    dataset_from_rows,
    exclude,
    item_from_row,
    load_jsonl,
    write_jsonl,
)
from tiered_router.evaluate.report import markdown

FIXTURE = Path(__file__).parent / "data" / "recorded_outcomes.jsonl"


def _row(**over: object) -> dict[str, object]:
    row: dict[str, object] = {"prompt": "2 + 2?", "tiers": {"1": {"answer": "4", "correct": 1, "cost_usd": 0.1},
                                                           "2": {"answer": "4", "correct": 1}}}
    row.update(over)
    return row


def test_generic_rows_read_and_write(tmp_path: Path) -> None:
    ds = load_jsonl(FIXTURE)
    assert ds.name == "recorded_outcomes" and len(ds.items) == 40 and len(ds.models) == 3
    assert ds.answer_format == "choice" and ds.cost_unit == "$" and ds.has_responses
    assert ds.items[0].meta == {"category": "chemistry"}
    out = tmp_path / "copy.jsonl"
    write_jsonl(ds, out)
    again = load_jsonl(out)
    assert again.items == ds.items
    assert load(str(FIXTURE)).items == ds.items  # a path goes through the same loader

    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "2 + 2?"}]
    item = item_from_row(_row(prompt=messages, meta={"n": 3}))
    assert item.messages is not None and item.task == messages and "Be brief." in item.prompt
    assert item.meta == {"n": "3"} and item.answers[1].cost == 0.0
    assert item_from_row(_row(tiers={"1": {"correct": True}, "2": {"correct": 0, "answer": None}})).answers[0].text \
        is None


@pytest.mark.parametrize(("row", "message"), [
    (_row(prompt=3), "'prompt'"),
    (_row(tiers={"1": {"correct": 1}}), "tiers 1 and 2"),
    (_row(tiers={"1": {"correct": 1}, "3": {"correct": 1}}), "tiers 1 and 2"),
    (_row(tiers={"1": {"correct": 2}, "2": {"correct": 1}}), "'correct'"),
    (_row(tiers={"1": {"correct": 1, "cost_usd": -1}, "2": {"correct": 1}}), "'cost_usd'"),
    (_row(tiers={"1": {"correct": 1, "answer": 4}, "2": {"correct": 1}}), "'answer'"),
    (_row(answer_format=1), "'answer_format'"),
    (_row(meta=[1]), "'meta'"),
])
def test_generic_rows_are_validated(row: dict[str, object], message: str) -> None:
    with pytest.raises(FormatError, match=message):
        item_from_row(row, "f.jsonl:1")


def test_mixed_tier_counts_and_bad_lines_are_refused(tmp_path: Path) -> None:
    three = _row(tiers={"1": {"correct": 1}, "2": {"correct": 1}, "3": {"correct": 1}})
    with pytest.raises(FormatError, match="records 3 tiers"):
        dataset_from_rows([_row(), three], "x")
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(_row()) + "\n\nnot json\n", encoding="utf-8")
    with pytest.raises(FormatError, match=r"bad.jsonl:3"):
        load_jsonl(path)


def test_exclude_by_meta() -> None:
    ds = load_jsonl(FIXTURE)
    kept = exclude(ds, [("category", "physics")])
    assert len(kept.items) == 30 and all(it.meta["category"] != "physics" for it in kept.items)
    assert "without category=physics" in kept.title and kept.name.endswith("no-physics")
    assert exclude(ds, []) is ds
    with pytest.raises(FormatError):
        exclude(ds, [("category", c) for c in ("physics", "chemistry", "history", "biology")])


def test_evaluate_generic_file_with_intervals_online_and_verify() -> None:
    ds = load_jsonl(FIXTURE)
    rep = evaluate(ds, n_boot=100, online_percents=(50,), verify_bands=(0.0, 0.5))
    classifier = rep.row("classifier")
    assert classifier.apgr_ci is not None and classifier.apgr_ci[0] <= classifier.apgr <= classifier.apgr_ci[1]
    assert rep.row("random").apgr_ci == (pytest.approx(0.5), pytest.approx(0.5))
    (res,) = rep.online
    assert (res.n_train, res.n_test) == (20, 20)
    assert {r.key for r in res.rows} >= {"heuristic", "learned", "blend", "blend+gate"}
    assert res.promotion is not None and res.promotion.n == 20
    none, full = rep.verify
    assert none.verified == 0 and none.cloud_share == 0
    # Every prompt verified: tier 1 and tier 2 disagree exactly where tier 1 is wrong (13 of 40), and those
    # go to the cloud, which is always right.
    assert full.verified == 1.0 and full.cloud_share == pytest.approx(13 / 40)
    assert full.point.accuracy == pytest.approx(1.0) and full.pgr == pytest.approx(1.0)
    assert full.point.calls[:2] == (1.0, 1.0) and full.methods == {"choice": 40}
    assert full.apgr.value == pytest.approx(rep.row("oracle").apgr)  # disagreements first = the oracle's order
    md = markdown([rep])
    assert "The learner, trained online" in md and "The second opinion" in md and "APGR 95% CI" in md
    json.dumps(rep.to_dict())


def test_cli_bench_routing_on_a_generic_file(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["bench-routing", str(FIXTURE), "--json", "--n-boot", "50", "--online", "25,50",
                                  "--verify", "0.5", "--exclude", "category=history"])
    assert result.exit_code == 0, result.output
    (rep,) = json.loads(result.stdout)
    assert rep["n"] == 30 and "without category=history" in rep["title"]
    for row in rep["rows"]:
        if row["apgr"] is not None and row["key"] != "oracle":
            assert row["apgr_ci"] is not None
    assert [o["percent"] for o in rep["online"]] == [25, 50]
    assert all("low" in r["apgr"] and "high" in r["apgr"] for o in rep["online"] for r in o["rows"])
    assert rep["verify"][0]["band"] == 0.5 and rep["verify"][0]["apgr"]["value"] is not None

    table = runner.invoke(main, ["bench-routing", str(FIXTURE), "--n-boot", "20", "--verify", "sweep"])
    assert table.exit_code == 0, table.output
    assert "second opinion" in table.output

    for args, message in ((["nope"], "unknown dataset"), ([str(FIXTURE), "--online", "150"], "between 0 and 100"),
                          ([str(FIXTURE), "--verify", "x"], "band widths"),
                          ([str(FIXTURE), "--exclude", "oops"], "KEY=VALUE")):
        bad = runner.invoke(main, ["bench-routing", *args])
        assert bad.exit_code == 2 and message in bad.output, bad.output
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"prompt": "x", "tiers": {"1": {"correct": 1}}}\n', encoding="utf-8")
    bad = runner.invoke(main, ["bench-routing", str(broken)])
    assert bad.exit_code == 2 and "broken.jsonl:1" in bad.output


def test_named_benchmarks_become_generic_rows(tmp_path: Path) -> None:
    """MMLU's subject (from its file name) is carried in the rows' meta, so a subject can be left out by
    --exclude without the replay knowing which data set it reads."""
    root = tmp_path / "routellm" / "mmlu"
    root.mkdir(parents=True)
    weak, strong = "mistralai/Mixtral-8x7B-Instruct-v0.1", "gpt-4-1106-preview"
    for subject, rows in (("anatomy", 3), ("moral_scenarios", 2)):
        lines = [f"prompt,{weak},{strong}"] + [f"\"Q{subject}{i}?\nA. x\nB. y\nAnswer:\",{i % 2 == 0},True"
                                               for i in range(rows)]
        (root / f"mmlu_{subject}.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    ds = load("mmlu", tmp_path)
    assert [it.meta["subject"] for it in ds.items] == ["anatomy"] * 3 + ["moral_scenarios"] * 2
    assert ds.answer_format == "choice" and ds.cost_unit == "strong calls" and not ds.has_responses
    assert ds.items[0].answers[1].cost == 1.0
    runner = CliRunner()
    result = runner.invoke(main, ["bench-routing", "mmlu", "--data-dir", str(tmp_path), "--json", "--n-boot", "10",
                                  "--exclude", "subject=moral_scenarios"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)[0]["n"] == 3
