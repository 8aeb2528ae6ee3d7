"""Cross-references between sections of the config file, checked after each section has parsed.

A name that points nowhere (a fallback to a group no deployment serves, a tier whose model nobody
serves, prices for a deployment that does not exist) would otherwise be silently ignored at run time:
a fallback that never happens, a tier that always 404s, a price that never applies. Every deployment
counts, on or off, so exporting a key never changes whether the file is valid.
"""
from __future__ import annotations

from collections.abc import Iterable

from services.common.env import ConfigError


class Served:
    """The model names the deployments serve (patterns such as `fake-*` included) and the groups' aliases."""

    def __init__(self, deployments: Iterable, aliases: Iterable[str] = ()) -> None:
        self._deployments = tuple(deployments)
        self._aliases = set(aliases)
        self.deployment_names = {d.name for d in self._deployments}

    def __contains__(self, model: str) -> bool:
        return model in self._aliases or any(d.serves(model) is not None for d in self._deployments)


def check(deployments: Iterable, routing=None, pricing_raw: object = None, tiers_raw: object = None,
          escalation=None) -> None:
    """Raises a ConfigError naming every reference that points nowhere."""
    served = Served(deployments, routing.aliases() if routing is not None else ())
    problems: list[str] = []
    if routing is not None:
        problems += _routing(routing, served)
    if isinstance(pricing_raw, dict) and isinstance(pricing_raw.get("deployments"), dict):
        problems += [f"pricing.deployments.{d}: no deployment is named {d!r}"
                     for d in pricing_raw["deployments"] if d not in served.deployment_names]
    if isinstance(tiers_raw, dict):
        problems += [f"tiers.{name}.model: no deployment serves {spec.get('model')!r}"
                     for name, spec in tiers_raw.items()
                     if isinstance(spec, dict) and spec.get("model") not in served]
    if escalation is not None:
        problems += [f"tiers_escalation.tiers[{i}].model: no deployment serves {t.model!r}"
                     for i, t in enumerate(escalation.tiers) if t.model not in served]
        if escalation.judge_model and escalation.judge_model not in served:
            problems.append(f"tiers_escalation.judge_model: no deployment serves {escalation.judge_model!r}")
    if problems:
        raise ConfigError("\n".join(problems))


def _routing(routing, served: Served) -> list[str]:
    out = []
    groups = set(routing.groups)
    for name, group in routing.groups.items():
        if name not in served and not group.fallbacks:  # with fallbacks it is a virtual group: it only falls back
            out.append(f"routing.groups.{name}: no deployment serves {name!r} (and it has no fallbacks)")
        for field, names in group.referenced().items():
            out += [f"routing.groups.{name}.{field}[{i}]: {ref!r} is no model group (no deployment serves it)"
                    for i, ref in enumerate(names) if ref not in served and ref not in groups]
    for vendor, model in routing.provider_default_models.items():
        if model not in served:
            out.append(f"routing.provider_default_models.{vendor}: no deployment serves {model!r}")
    return out
