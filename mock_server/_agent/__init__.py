"""The emulator's editing agent: a deterministic, rule-based stand-in for NemoVideo's cloud agent.

``plan_turn`` (``planner``) reads one message and the session state and plans the turn: ``reading`` reads the
user's words, ``draft_ops`` changes the draft, ``wording`` words the replies. The SSE layer imports this package
on the first turn only: its tables are a noticeable part of the emulator's import time.
"""

from __future__ import annotations

from .draft_ops import ASPECTS, BGM_VOLUME, TITLE_MS
from .planner import ToolStep, TurnPlan, plan_turn
from .wording import MUSIC_PICKS, TITLE_PICKS

__all__ = ["ASPECTS", "BGM_VOLUME", "MUSIC_PICKS", "TITLE_MS", "TITLE_PICKS", "ToolStep", "TurnPlan", "plan_turn"]
