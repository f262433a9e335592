"""The gate as the engine applies it: to a whole answer (text or tool calls), and to the head of a stream."""

from __future__ import annotations

import math
from collections.abc import Sequence

from ..chat import ChatRequest, ChatResult, StreamChunk, TokenLogprob
from ..quality import QualityVerdict, assess_response
from ..quality.tools import assess_missing_call, assess_tool_calls, looks_like_written_call
from ..tiers import Tier
from .call import Call, EngineSettings

_OK = QualityVerdict(False, "ok")


def gate_answer(settings: EngineSettings, tier: Tier, call: Call, result: ChatResult) -> QualityVerdict | None:
    """The verdict on a whole answer of ``tier``, or None when that tier is not gated."""
    if int(tier) not in settings.gate_tiers:
        return None
    request = call.request
    if result.tool_calls:
        return assess_tool_calls(result.tool_calls, request.tools, request.tool_name)
    if request.tools and request.tool_choice != "none":
        missing = assess_missing_call(result.text, request.tools, request.tool_choice == "required")
        if missing is not None:
            return missing
    finish, expect_json = result.finish_reason, True if request.wants_json else None
    if finish == "length" and cut_by_client(request, result):
        # The client's own limit cut it: a bigger model would be cut as well, so it is not "truncated",
        # and a cut JSON answer is not judged as JSON.
        finish, expect_json = "stop", False
    verdict = assess_response(call.messages, result.text, finish_reason=finish, expect_json=expect_json,
                              answer_format=call.options.answer_format)
    return _with_confidence(settings, verdict, result.logprobs or ())


def _with_confidence(settings: EngineSettings, verdict: QualityVerdict,
                     logprobs: Sequence[TokenLogprob]) -> QualityVerdict:
    """A text verdict, made "low-confidence" when it passed but the model was unsure of its tokens (where
    TIER_CONFIDENCE is set and the upstream reported log-probabilities)."""
    if verdict.low_quality or settings.confidence is None or not logprobs:
        return verdict
    return QualityVerdict(True, "low-confidence") if confidence(logprobs) < settings.confidence else verdict


def confidence(logprobs: Sequence[TokenLogprob]) -> float:
    """How sure the model was of its answer, 0..1: for a short answer (a letter, a number, a word) the least
    likely of its tokens; for a longer one the geometric mean of its tokens' probabilities (one unlikely
    word in a paragraph is no doubt about the answer)."""
    if not logprobs:
        return 1.0
    if len(logprobs) <= 3:
        return math.exp(min(t.logprob for t in logprobs))
    return math.exp(sum(t.logprob for t in logprobs) / len(logprobs))


def gate_head(settings: EngineSettings, call: Call, head: Sequence[StreamChunk]) -> QualityVerdict:
    """The verdict on the first part of a stream: what can be told before the end. A refusal, a non-answer,
    junk or a loop show in the opening; so does a tool call written out as text. Checks that need the whole
    answer (formats, truncation, an answer too short for the request, a disclaimer with nothing after it) wait
    for it."""
    request = call.request
    calls = tuple(c for chunk in head for c in chunk.tool_calls)
    if calls:
        return assess_tool_calls(calls, request.tools, request.tool_name)
    text = "".join(chunk.text for chunk in head)
    if not text.strip():
        # Only reasoning so far (a thinking model) is not an empty answer; nothing at all is.
        return _OK if any(chunk.thinking for chunk in head) else QualityVerdict(True, "empty")
    if request.tools and request.tool_choice != "none" and looks_like_written_call(text, request.tools):
        return QualityVerdict(True, "tool-as-text")
    verdict = assess_response(call.messages, text, finish_reason="stop", expect_json=False, partial=True)
    return _with_confidence(settings, verdict, [t for chunk in head for t in chunk.logprobs])


def cut_by_client(request: ChatRequest, result: ChatResult) -> bool:
    """Whether a ``length`` stop came from the client's own ``max_tokens`` (the tier used all of it), rather
    than from the tier stopping short of what the client allowed."""
    limit = request.max_tokens
    if limit is None:
        return False
    return result.usage.estimated or result.usage.output_tokens >= limit
