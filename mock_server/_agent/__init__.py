"""The emulator's editing agent: a deterministic, rule-based stand-in for NemoVideo's cloud agent.

``plan_turn`` (``planner``) reads one message and the session state and plans the turn: ``reading`` reads the
user's words, ``draft`` keeps the draft being edited in shape, ``draft_ops`` changes it, ``wording`` words the
replies. The SSE layer imports this package on the first turn only: its tables are a noticeable part of the
emulator's import time.
"""

from __future__ import annotations

from .draft import ASPECTS, SFX_SUFFIX, SUBTITLE_LABEL
from .draft_ops import BGM_VOLUME, SFX_MS, SFX_VOLUME, SUBTITLE_LINE_MS, TITLE_MS
from .planner import ToolStep, TurnPlan, plan_turn
from .wording import MUSIC_PICKS, SFX_PICKS, SUBTITLE_PICKS, TITLE_PICKS

__all__ = [
    "ASPECTS",
    "BGM_VOLUME",
    "MUSIC_PICKS",
    "SFX_MS",
    "SFX_PICKS",
    "SFX_SUFFIX",
    "SFX_VOLUME",
    "SUBTITLE_LABEL",
    "SUBTITLE_LINE_MS",
    "SUBTITLE_PICKS",
    "TITLE_MS",
    "TITLE_PICKS",
    "ToolStep",
    "TurnPlan",
    "plan_turn",
]
