"""Which model names may become metric labels: only those the config file names, everything else `other`.

A label value is a Prometheus series forever (per label combination, in every scrape); with the client's
model name as the label, 40 random `fake-<hex>` names made 800 series. Only exact names the operator wrote
(deployments' models, routing groups and aliases, tiers, escalation tiers) are labels; a name served by a
family pattern (`fake-*`), or not served at all, is counted under `other`.
"""
from __future__ import annotations

from collections.abc import Iterable

OTHER = "other"


class ModelLabels:
    def __init__(self, names: Iterable[str] = ()) -> None:
        self._names = frozenset(n for n in names if n and not n.endswith("*"))

    def __call__(self, model: str) -> str:
        return model if model in self._names else OTHER

    def __len__(self) -> int:
        return len(self._names)

    @classmethod
    def from_config(cls, raw: dict | None) -> "ModelLabels":
        """Every exact model name the config file mentions; tolerant of shapes the services' own parsers
        reject (they report those errors; a label set must not fail a start)."""
        raw = raw or {}
        names: set[str] = {"tier/auto"}
        for dep in _list(raw.get("deployments")):
            for m in _list(dep.get("models") if isinstance(dep, dict) else None):
                names.add(m if isinstance(m, str) else str(m.get("name", "")) if isinstance(m, dict) else "")
        routing = raw.get("routing") if isinstance(raw.get("routing"), dict) else {}
        groups = routing.get("groups") if isinstance(routing.get("groups"), dict) else {}
        for name, group in groups.items():
            names.add(str(name))
            if isinstance(group, dict):
                names.update(str(a) for a in _list(group.get("aliases")))
        tiers = raw.get("tiers") if isinstance(raw.get("tiers"), dict) else {}
        names.update(f"tier/{t}" for t in tiers)
        esc = raw.get("tiers_escalation") if isinstance(raw.get("tiers_escalation"), dict) else {}
        for tier in _list(esc.get("tiers")):
            if isinstance(tier, dict) and isinstance(tier.get("model"), str):
                names.add(tier["model"])
        return cls(names)


def _list(v) -> list:
    return v if isinstance(v, list) else []
