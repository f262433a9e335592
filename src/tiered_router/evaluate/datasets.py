"""Loaders for the recorded routing benchmarks: which model answered what, whether it was right, at what cost.

All dataset knowledge lives here; the replay and the router see only :class:`Dataset`: prompts, one
recorded :class:`Answer` per tier model, and the answer format a caller of the router would state.

* ``arc``, ``mbpp``: RouterBench (zero-shot split, as copied by RouterDC), ``routerbench/*.csv``. Tier 1 =
  ``mistralai/mistral-7b-chat``, tier 2 = ``meta/llama-2-70b-chat``, tier 3 = ``gpt-4-1106-preview``.
  ``prompt`` and ``MODEL|model_response`` are Python-list strings; ``MODEL`` is the 0/1 score and
  ``MODEL|total_cost`` the recorded cost in dollars. Rows with no score for one of the three models are
  dropped (6 in ARC).
* ``gsm8k``, ``mmlu``: RouteLLM, ``routellm/``. Two models: tier 1 = Mixtral-8x7B-Instruct (weak), tier 2
  and above = GPT-4-1106 (strong). Contaminated prompts (``*contaminated_prompts.jsonl``, field
  ``eval_prompt``) are dropped as RouteLLM does (``~isin``; MMLU's duplicate prompts are kept). The MMLU files
  have no responses, so the quality gate cannot be replayed on MMLU. Costs follow RouteLLM's convention:
  one call to the strong model costs 1, a weak call 0, so the mean cost is the share of strong calls.
"""

from __future__ import annotations

import ast
import csv
import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from .generic import Answer, Dataset, Item, dataset_from_rows, load_jsonl

__all__ = ["DATASETS", "Answer", "Dataset", "Item", "default_data_dir", "load", "load_all"]

DATASETS = ("arc", "mbpp", "gsm8k", "mmlu")

_RB_MODELS = ("mistralai/mistral-7b-chat", "meta/llama-2-70b-chat", "gpt-4-1106-preview")
_RL_MODELS = ("mistralai/Mixtral-8x7B-Instruct-v0.1", "gpt-4-1106-preview")


def default_data_dir() -> Path:
    """``$TIER_EVAL_DIR``, else ``<repo>/../shared/eval`` for a source checkout."""
    env = os.environ.get("TIER_EVAL_DIR")
    if env:
        return Path(env)
    repo = Path(__file__).resolve().parents[3]
    return repo.parent / "shared" / "eval"


def load(name: str, data_dir: Path | str | None = None) -> Dataset:
    """Load one dataset by name (``arc``, ``mbpp``, ``gsm8k``, ``mmlu``), or a JSON Lines file of generic rows
    (``generic``) by its path."""
    if name not in DATASETS and (name.endswith(".jsonl") or Path(name).is_file()):
        return load_jsonl(name)
    root = Path(data_dir) if data_dir is not None else default_data_dir()
    if name == "arc":
        return _routerbench(root / "routerbench" / "arc_challenge_test.csv", "arc", "ARC-Challenge", "choice")
    if name == "mbpp":
        return _routerbench(root / "routerbench" / "mbpp_test.csv", "mbpp", "MBPP", "code")
    if name == "gsm8k":
        return _gsm8k(root / "routellm")
    if name == "mmlu":
        return _mmlu(root / "routellm" / "mmlu")
    raise ValueError(f"unknown dataset {name!r} (use one of {', '.join(DATASETS)}, or a .jsonl file)")


def load_all(names: tuple[str, ...] = DATASETS, data_dir: Path | str | None = None) -> list[Dataset]:
    return [load(n, data_dir) for n in names]


# --------------------------------------------------------------------------------------------------
# Each benchmark's files become generic rows (``generic``), which are read like any other recorded outcomes.


def _row(prompt: str, answers: Sequence[tuple[str | None, float, float]], answer_format: str,
         meta: dict[str, str] | None = None) -> dict[str, Any]:
    """A generic row: ``answers`` are (text, correct, cost) per tier."""
    row: dict[str, Any] = {
        "prompt": prompt,
        "answer_format": answer_format,
        "tiers": {str(i + 1): {"answer": text, "correct": correct, "cost_usd": cost}
                  for i, (text, correct, cost) in enumerate(answers)},
    }
    if meta:
        row["meta"] = meta
    return row


def _rows(path: Path) -> Iterator[dict[str, str]]:
    csv.field_size_limit(1 << 30)
    with path.open(newline="", encoding="utf-8") as f:
        yield from csv.DictReader(f)


def _first_of_list(value: str) -> str:
    """RouterBench stores prompts and responses as Python-list strings; the list holds one text (twice in a
    few ARC rows). Fall back to the raw value if it is not a list literal."""
    try:
        parsed = ast.literal_eval(value)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return value
    if isinstance(parsed, list | tuple):
        texts = [str(x) for x in parsed]
        return texts[0] if texts else ""
    return str(parsed)


def _routerbench(path: Path, name: str, title: str, answer_format: str) -> Dataset:
    rows: list[dict[str, Any]] = []
    dropped = 0
    for row in _rows(path):
        scores = [row.get(m, "") for m in _RB_MODELS]
        if any(s.strip() == "" for s in scores):
            dropped += 1
            continue
        answers = [(_first_of_list(row.get(f"{m}|model_response", "")), float(s),
                    float(row.get(f"{m}|total_cost") or 0.0)) for m, s in zip(_RB_MODELS, scores, strict=True)]
        rows.append(_row(_first_of_list(row["prompt"]), answers, answer_format))
    notes = (f"{dropped} rows without a score for one of the three models dropped",) if dropped else ()
    return dataset_from_rows(rows, name, title, models=_RB_MODELS, cost_unit="$",
                             source=f"RouterBench via RouterDC ({path.name})", notes=notes)


def _contaminated(path: Path) -> set[str]:
    if not path.exists():
        return set()
    out = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            out.add(json.loads(line)["eval_prompt"])
    return out


def _truth(value: str) -> float:
    return 1.0 if value.strip().lower() in ("true", "1", "1.0") else 0.0


def _routellm_row(row: dict[str, str], answer_format: str, meta: dict[str, str] | None = None) -> dict[str, Any]:
    """RouteLLM's convention: a strong call costs 1, a weak call 0 (the mean cost is the share of strong calls)."""
    weak, strong = _RL_MODELS
    return _row(row["prompt"], [(row.get(f"{weak}_response"), _truth(row[weak]), 0.0),
                                (row.get(f"{strong}_response"), _truth(row[strong]), 1.0)], answer_format, meta)


def _gsm8k(root: Path) -> Dataset:
    bad = _contaminated(root / "gsm8k_contaminated_prompts.jsonl")
    rows = []
    total = 0
    for row in _rows(root / "gsm8k_responses.csv"):
        total += 1
        if row["prompt"] not in bad:
            rows.append(_routellm_row(row, "number"))
    notes = (f"{total - len(rows)}/{total} contaminated prompts dropped",)
    return dataset_from_rows(rows, "gsm8k", "GSM8K", models=_RL_MODELS, cost_unit="strong calls",
                             source="RouteLLM gsm8k_responses.csv", notes=notes)


def _mmlu(root: Path) -> Dataset:
    """The subject (from the file name) goes into the rows' ``meta``, so a subject can be excluded."""
    bad = _contaminated(root / "contaminated_prompts.jsonl")
    rows = []
    total = 0
    files = sorted(root.glob("mmlu_*.csv"))
    if not files:
        raise FileNotFoundError(f"no mmlu_*.csv in {root}")
    for path in files:
        subject = path.stem.removeprefix("mmlu_")
        for row in _rows(path):
            total += 1
            if row["prompt"] not in bad:
                rows.append(_routellm_row(row, "choice", {"subject": subject}))
    notes = (f"{total - len(rows)}/{total} contaminated prompts dropped", "no responses recorded: gate not replayable")
    return dataset_from_rows(rows, "mmlu", "MMLU", models=_RL_MODELS, cost_unit="strong calls",
                             source=f"RouteLLM mmlu_*.csv ({len(files)} subjects)", notes=notes)
