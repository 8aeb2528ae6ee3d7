"""Builds the escalation parts from the router's config, chat runner, prices and Redis (one place)."""
from __future__ import annotations

from dataclasses import dataclass

from services.common.pricing import PriceBook
from services.router.chat import ChatRunner
from services.router.escalation.config import EscalationConfig
from services.router.escalation.judge import Judge
from services.router.escalation.language import LanguageDetector
from services.router.escalation.learning import LearningCycles
from services.router.escalation.metrics import EscalationMetrics
from services.router.escalation.runner import EscalationRunner
from services.router.escalation.scheduler import LearningScheduler
from services.router.escalation.servicer import EscalationServicer
from services.router.escalation.store import EscalationStore
from services.router.escalation.tuning import Tuning
from services.router.escalation.validators import Validators


@dataclass
class Escalation:
    servicer: EscalationServicer
    scheduler: LearningScheduler | None
    """None without Redis (nothing to learn from) or when scheduled learning is off."""


def build(cfg: EscalationConfig, chat: ChatRunner, prices: PriceBook, redis) -> Escalation:
    store = EscalationStore(redis, cfg.audit_max) if redis is not None else None
    metrics = EscalationMetrics(redis) if redis is not None else None
    tuning = Tuning(cfg, redis)
    judge = Judge(chat, cfg.judge_model) if cfg.judge_model else None
    runner = EscalationRunner(chat, cfg, Validators(LanguageDetector()), prices, tuning, store, metrics, judge)
    learning = LearningCycles(cfg, store, metrics, tuning) if store is not None else None
    scheduler = LearningScheduler(learning, redis) if learning is not None and cfg.learning.enabled else None
    return Escalation(EscalationServicer(runner, store, metrics, tuning, learning), scheduler)
