"""Every Redis key the meter uses, in one place.

Two hash-tag families, so each Lua script touches a single Redis Cluster slot:
- `ty:{u:DATE}:...` usage of one UTC day: applied-request markers, aggregates, index sets (the ledger's script);
- `ty:{b:WORKSPACE}:...` money state of one workspace: budgets, spend per period, reservations,
  tier quotas and overages (the budget scripts). Keys, agents and their workspace share it, so one
  script can reserve against all three atomically.
Ids are escaped so an id containing `:` can never collide with another key.

A request is identified by (key id, server request id) everywhere money or usage is keyed: its
record, its reservation and its settle marker. The server's id is random, and the key id scopes it
anyway, so two tenants (or an internal gRPC client that picks its own ids) can never collide.
"""
from __future__ import annotations

from datetime import date

DIMENSIONS = ("key", "agent", "user", "session")
"""Per-subject breakdowns kept inside every scope (everything, and each workspace)."""


def esc(value: str) -> str:
    return (value.replace("%", "%25").replace(":", "%3A").replace("{", "%7B").replace("}", "%7D")
            .replace("|", "%7C"))


def unesc(value: str) -> str:
    return value.replace("%7C", "|").replace("%7D", "}").replace("%7B", "{").replace("%3A", ":").replace("%25", "%")


# --- usage, per day -------------------------------------------------------------------------------

def day_tag(day: date) -> str:
    return f"ty:{{u:{day.isoformat()}}}"


def request_ref(key_id: str, request_id: str) -> str:
    """One request's identity: its key id and the server's request id (escaped, so unambiguous)."""
    return f"{esc(key_id)}:{esc(request_id)}"


def record_key(day: date, key_id: str, request_id: str) -> str:
    """Marker (expiring) that a request's usage was applied: the ledger's idempotency, not the record."""
    return f"{day_tag(day)}:req:{request_ref(key_id, request_id)}"


def scope_key(day: date, workspace: str | None = None) -> str:
    """Totals of everything (workspace None) or of one workspace."""
    base = f"{day_tag(day)}:day"
    return base if workspace is None else f"{base}:ws:{esc(workspace)}"


def dim_key(day: date, kind: str, value: str, workspace: str | None = None) -> str:
    return f"{scope_key(day, workspace)}:{kind}:{esc(value)}"


def index_key(day: date, kind: str, workspace: str | None = None) -> str:
    """Set of the ids of one dimension that had usage that day (for summaries)."""
    return f"{scope_key(day, workspace)}:idx:{kind}"


# --- money, per workspace -------------------------------------------------------------------------

def ws_tag(workspace: str) -> str:
    return f"ty:{{b:{esc(workspace) or '_'}}}"


def budgets_key(workspace: str) -> str:
    """Hash: `kind:id:period` -> limit in micro-dollars."""
    return f"{ws_tag(workspace)}:budgets"


def budget_field(kind: str, subject_id: str, period: str) -> str:
    return f"{kind}:{esc(subject_id)}:{period}"


def spend_key(workspace: str, kind: str, subject_id: str, period: str, start: date) -> str:
    """Hash {spent, reserved} of one subject in one period instance (micro-dollars)."""
    return f"{ws_tag(workspace)}:spend:{kind}:{esc(subject_id)}:{period}:{start.isoformat()}"


def reservations_key(workspace: str) -> str:
    """Hash: request_ref -> `amount|spend key|spend key...` of open reservations."""
    return f"{ws_tag(workspace)}:resv"


def reservation_deadlines_key(workspace: str) -> str:
    """Sorted set: request_ref scored by the Unix ms after which its reservation is given back."""
    return f"{ws_tag(workspace)}:resv:deadlines"


def settled_key(workspace: str, key_id: str, request_id: str) -> str:
    return f"{ws_tag(workspace)}:settled:{request_ref(key_id, request_id)}"


def quota_key(workspace: str, subject: str, month: str) -> str:
    """Tokens a tier subject used in a month."""
    return f"{ws_tag(workspace)}:quota:{esc(subject)}:{month}"


def overage_totals_key(workspace: str, month: str) -> str:
    """Hash: `subject|tier|tokens`, `...|cost` -> overage of that month."""
    return f"{ws_tag(workspace)}:overage:{month}"


def overage_log_key(workspace: str, month: str) -> str:
    """List of overage records (JSON), newest first, trimmed."""
    return f"{ws_tag(workspace)}:overage:{month}:log"


def tier_subjects_key(workspace: str, month: str) -> str:
    """Set of `tier|subject` members that used a tier in the month."""
    return f"{ws_tag(workspace)}:tiersubj:{month}"


def tier_workspaces_key(month: str) -> str:
    """Set of workspaces with tier usage in the month (untagged: written on its own, idempotent)."""
    return f"ty:tierws:{month}"


def budget_workspaces_key() -> str:
    """Set of workspaces that have budgets (for listing across workspaces)."""
    return "ty:budgetws"
