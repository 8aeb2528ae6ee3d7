"""Budgets and models with no known price: a budget cannot bound what nobody can price, so it refuses.

Kept apart from admission so the rule (and its message) lives in one place: the operator gives the
model a price under `pricing:` or declares it free (`{input: 0, output: 0}`), and the key works again.
"""
from __future__ import annotations

import grpc
import structlog

from services.common.errors import GatewayError
from services.meter.budgets import BudgetStore

log = structlog.get_logger()


def unpriced_error(model: str) -> GatewayError:
    return GatewayError(grpc.StatusCode.FAILED_PRECONDITION,
                        f"The model `{model}` has no known price, so a key with a budget cannot use it. "
                        "Ask the operator to price it (pricing: in the config) or declare it free.",
                        "invalid_request_error", "model_price_unknown", 400, "model")


async def refuse_unpriced(budgets: BudgetStore, req, model: str) -> None:
    """Gives back what was reserved for this request and raises the refusal."""
    await budgets.release(req.caller.workspace, req.caller.key_id, req.request_id)
    log.info("budget_refused_unpriced_model", request_id=req.request_id, model=model)
    raise unpriced_error(model)
