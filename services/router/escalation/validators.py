"""Cheap, explainable checks on one answer, and the confidence score they add up to.

Each validator returns a `Verdict` (kept with the answer, shown to clients and reviewers) or None
when it does not apply (no JSON asked for, no tools offered...). The score starts at 10 and each
failed check takes off its penalty (configurable, tuned by the 6 h learning cycle), floored at 0:
anyone can read off why an answer scored what it did.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import orjson

from services.router.escalation.language import LanguageDetector

_REFUSAL = re.compile(
    r"^\s*(i['’]?m sorry,? (but )?i (can(['’]?t|not)|won['’]?t|am unable)|i (can(['’]?t|not)|won['’]?t) "
    r"(help|assist|comply|do that|provide)|i am (not able|unable) to (help|assist|comply)|"
    r"as an ai( language model)?,? i (can(['’]?t|not)|am unable)|sorry, i can(['’]?t|not))", re.IGNORECASE)
_FENCE = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.DOTALL)


@dataclass
class Verdict:
    name: str
    passed: bool
    detail: str = ""
    penalty: float = 0.0


@dataclass
class Answer:
    """What one tier said, assembled from its stream."""

    text: str = ""
    tool_calls: list[tuple[str, str]] = field(default_factory=list)
    """(function name, arguments JSON)."""
    finish_reason: str = ""
    refusal: str = ""


@dataclass
class Expectations:
    """What the request asked for, that an answer can be checked against."""

    response_format: dict | None = None
    tools: dict[str, dict] = field(default_factory=dict)
    """Tool name -> its JSON Schema of arguments."""
    language: str = ""
    labels: tuple[str, ...] = ()
    """Classify: the answer's `label` must be one of these."""


def parse_json(text: str):
    """The answer as JSON (a ```json fence is tolerated); raises ValueError."""
    body = text.strip()
    m = _FENCE.match(body)
    return orjson.loads(m.group(1) if m else body)


class Validators:
    def __init__(self, detector: LanguageDetector) -> None:
        self._detector = detector

    async def check(self, answer: Answer, exp: Expectations) -> list[Verdict]:
        out = [self.non_empty(answer), self.finish_reason(answer), self.no_refusal(answer)]
        out += self.json(answer, exp) + self.tool_args(answer, exp) + self.label(answer, exp)
        if exp.language and answer.text:
            ok, detail = await self._detector.matches(answer.text, exp.language)
            if ok is not None:
                out.append(Verdict("language", ok, f"asked {exp.language}, {detail}"))
        return [v for v in out if v is not None]

    @staticmethod
    def non_empty(a: Answer) -> Verdict:
        ok = bool(a.text.strip() or a.tool_calls)
        return Verdict("non_empty", ok, "" if ok else "the answer is empty")

    @staticmethod
    def finish_reason(a: Answer) -> Verdict:
        ok = a.finish_reason not in ("length", "content_filter", "error")
        return Verdict("finish_reason", ok, f"finish_reason={a.finish_reason or 'none'}")

    @staticmethod
    def no_refusal(a: Answer) -> Verdict:
        refused = bool(a.refusal) or bool(_REFUSAL.match(a.text))
        return Verdict("no_refusal", not refused, "the model refused" if refused else "")

    @staticmethod
    def json(a: Answer, exp: Expectations) -> list[Verdict]:
        fmt = exp.response_format or {}
        kind = fmt.get("type")
        if kind not in ("json_object", "json_schema") or a.tool_calls:
            return []
        try:
            doc = parse_json(a.text)
        except ValueError as exc:
            return [Verdict("json", False, f"not valid JSON: {str(exc)[:120]}")]
        if kind == "json_object" and not isinstance(doc, dict):
            return [Verdict("json", False, "JSON, but not an object")]
        out = [Verdict("json", True, "valid JSON")]
        spec = fmt.get("json_schema")
        schema = spec.get("schema") if isinstance(spec, dict) else None
        if isinstance(schema, dict):
            out.append(_schema_verdict("schema", doc, schema))
        return out

    @staticmethod
    def tool_args(a: Answer, exp: Expectations) -> list[Verdict]:
        out = []
        for name, args in a.tool_calls:
            if exp.tools and name not in exp.tools:
                out.append(Verdict("tool_args", False, f"called unknown tool {name!r}"))
                continue
            try:
                doc = orjson.loads(args or "{}")
            except ValueError:
                out.append(Verdict("tool_args", False, f"{name}: arguments are not valid JSON"))
                continue
            schema = exp.tools.get(name)
            out.append(_schema_verdict("tool_args", doc, schema) if schema else
                       Verdict("tool_args", isinstance(doc, dict), f"{name}: arguments parse"))
        return out

    @staticmethod
    def label(a: Answer, exp: Expectations) -> list[Verdict]:
        if not exp.labels:
            return []
        got = extract_label(a.text, exp.labels)
        return [Verdict("label", got is not None, f"label={got!r}" if got else "no label from the set")]


def extract_label(text: str, labels: tuple[str, ...]) -> str | None:
    """The label of a classify answer: `{"label": x}` JSON, or the bare label text (case-insensitive)."""
    try:
        doc = parse_json(text)
        candidate = doc.get("label") if isinstance(doc, dict) else doc
    except ValueError:
        candidate = text
    if not isinstance(candidate, str):
        return None
    wanted = candidate.strip().strip(".\"'").lower()
    return next((lab for lab in labels if lab.lower() == wanted), None)


def _schema_verdict(name: str, doc, schema: dict) -> Verdict:
    # Imported on the first schema check: ~2 MB a router without tier/auto JSON tasks never needs.
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    try:
        Draft202012Validator.check_schema(schema)
        errors = sorted(Draft202012Validator(schema).iter_errors(doc), key=lambda e: [str(p) for p in e.path])
    except SchemaError as exc:
        return Verdict(name, False, f"the schema itself is invalid: {exc.message[:120]}")
    except Exception as exc:  # noqa: BLE001 - a hostile schema (bad regex, odd types) must not fail the request
        return Verdict(name, False, f"the schema could not be applied: {type(exc).__name__}")
    if errors:
        where = "/".join(str(p) for p in errors[0].path) or "(root)"
        return Verdict(name, False, f"{where}: {errors[0].message[:160]}")
    return Verdict(name, True, "matches the schema")


def score(verdicts: list[Verdict], penalties: dict[str, float]) -> float:
    """10 minus the penalties of the failed checks, floored at 0; sets each verdict's penalty."""
    total = 10.0
    for v in verdicts:
        v.penalty = 0.0 if v.passed else penalties.get(v.name, 5.0)
        total -= v.penalty
    return round(max(0.0, total), 2)
