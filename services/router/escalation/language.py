"""Answer-language check with `langdetect` (Google's language-detection profiles, shipped in the wheel,
so it works offline). Seeded, so the same text always gets the same verdict.

Short texts are unreliable (a single word such as "positive" reads as Italian), so anything under
`min_chars` letters is not judged at all rather than judged wrongly. Loading the profiles takes
about half a second and detection is CPU work: both run in a worker thread, never on the event loop.
"""
from __future__ import annotations

import asyncio
import threading


class LanguageDetector:
    def __init__(self, min_chars: int = 24, accept_probability: float = 0.2) -> None:
        self._min_chars = min_chars
        self._accept = accept_probability
        self._factory = None
        self._lock = threading.Lock()

    def _load(self):
        with self._lock:
            if self._factory is None:
                from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory

                factory = DetectorFactory()
                factory.load_profile(PROFILES_DIRECTORY)
                factory.seed = 0
                self._factory = factory
        return self._factory

    def judgeable(self, text: str) -> bool:
        return sum(ch.isalpha() for ch in text) >= self._min_chars

    def detect_sync(self, text: str) -> list[tuple[str, float]]:
        """[(ISO 639-1 code, probability)], most likely first; [] when the text has no letters."""
        from langdetect.lang_detect_exception import LangDetectException

        detector = self._load().create()
        detector.append(text[:2000])
        try:
            return [(p.lang.split("-")[0], p.prob) for p in detector.get_probabilities()]
        except LangDetectException:
            return []

    async def matches(self, text: str, language: str) -> tuple[bool | None, str]:
        """(True/False, what was detected), or (None, why) when the text is too short to judge."""
        if not self.judgeable(text):
            return None, "too short to judge"
        found = await asyncio.to_thread(self.detect_sync, text)
        if not found:
            return None, "no language detected"
        ok = any(lang == language and prob >= self._accept for lang, prob in found)
        return ok, f"detected {found[0][0]} ({found[0][1]:.2f})"
