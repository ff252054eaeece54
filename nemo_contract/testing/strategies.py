"""Hypothesis strategies for what integrations of the NemoVideo agent API generate in their own tests.

* ``user_messages``: what users type, in English and Chinese, with or without the documents' routing keywords.
* ``drafts`` and ``nearly_valid_drafts``: timelines the API's ``Draft`` schema accepts, and ones it refuses
  for a single defect.
* ``upload_files``: descriptions of files to upload (name, content type, size) around the documents' limits,
  each with the code the API answers it with.
* ``fault_rules`` and ``knob_sets``: the emulator's fault rules and knobs (``specs/mock-admin.openapi.yaml``).

Every strategy keeps its promise for any draw, and tests/toolkit/testing/test_strategies.py checks each against
the recorded specs and the emulator. Words come from small tables written here: they read like users, and
Hypothesis shrinks a failure to one of them. Importing this module imports Hypothesis (and nothing of the
emulator).
"""

from __future__ import annotations

import dataclasses
import mimetypes
import typing

from hypothesis import strategies as st

from ..protocol import ACCEPTED_EXTENSIONS, MAX_UPLOAD_BYTES, Code, FileType, TrackType, file_type_for
from ..protocol import fields as f
from ..protocol.control import FaultRuleFields, KnobFields

__all__ = [
    "ROUTING_KEYWORDS",
    "Kind",
    "Language",
    "UploadFile",
    "drafts",
    "fault_rules",
    "knob_sets",
    "nearly_valid_drafts",
    "upload_files",
    "user_messages",
]

Language = typing.Literal["en", "zh"]
Kind = typing.Literal["generation", "edit", "chat"]

#: The documents' "Matching Input to Actions" table: the words that send a message somewhere other than the agent.
ROUTING_KEYWORDS: typing.Final[dict[str, tuple[str, ...]]] = {
    "export": ("export", "download", "send me the video", "导出"),
    "credits": ("credits", "balance", "积分", "余额"),
    "state": ("status", "show tracks", "状态"),
    "upload": ("upload", "上传"),
}

_SUBJECTS = {
    "en": ("a city timelapse", "ocean waves", "a cat on a sofa", "a mountain sunrise", "our new coffee mug"),
    "zh": ("城市延时", "海浪", "沙发上的猫", "山顶日出", "我们的新咖啡杯"),
}
_TITLE_WORDS = {"en": ("Hello", "Urban Dreams", "Summer 2026", "Launch Day"), "zh": ("你好世界", "夏日时光")}
_TITLES = (*_TITLE_WORDS["en"], *_TITLE_WORDS["zh"])
#: What users ask the agent for, by kind: a new video, a change of the timeline, or a chat.
_AGENT: dict[str, dict[Language, tuple[str, ...]]] = {
    "generation": {
        "en": (
            "generate a {n}-second video of {subject}",
            "make a video of {subject}",
            "turn this video into a short promo with music and transitions",
        ),
        "zh": ("生成一段{n}秒的{subject}视频", "把这个视频做成带音乐和转场的短片"),
    },
    "edit": {
        "en": (
            "add background music",
            "add lo-fi music at {pct}% volume",
            "trim it to {n} seconds",
            "make it vertical 9:16",
            'add a title "{title}"',
            "remove the title",
            "add subtitles",
            "make the music quieter",
            "add a fade transition between clips",
            "make it black and white",
        ),
        "zh": ("加背景音乐", "把视频剪到{n}秒", "改成竖屏9:16", "添加标题“{title}”", "去掉标题", "加字幕"),
    },
    "chat": {"en": ("hello", "what can you do?", "thanks!"), "zh": ("你好", "谢谢")},
}
_ROUTED = {
    "en": (
        "export",
        "please export a 1080p MP4",
        "download the video",
        "send me the video",
        "how many credits do I have?",
        "check my balance",
        "show tracks",
        "what is the status?",
        "upload my clip",
    ),
    "zh": ("导出视频", "我的积分还有多少", "查一下余额", "看看状态", "上传素材"),
}


def _fill(template: str, language: Language) -> st.SearchStrategy[str]:
    words = st.tuples(
        st.integers(1, 60),
        st.integers(0, 100),
        st.sampled_from(_SUBJECTS[language]),
        st.sampled_from(_TITLE_WORDS[language]),
    )
    return words.map(lambda w: template.format(n=w[0], pct=w[1], subject=w[2], title=w[3]))


def user_messages(
    *, language: Language | None = None, routing: bool | None = None, kind: Kind | None = None
) -> st.SearchStrategy[str]:
    """Messages users type: generations, edits and chat for the agent, and requests the documents route
    elsewhere. ``language``: ``"en"`` (ASCII only) or ``"zh"`` (with Chinese characters); ``routing=True``: every
    message holds a keyword of ``ROUTING_KEYWORDS`` outside quotes; ``routing=False``: none at all, so the
    documents' table sends it to the agent. ``kind`` (for the agent's messages): ``"generation"`` asks for a new
    video, ``"edit"`` for a change of the timeline, ``"chat"`` for neither.

        @given(user_messages(language="zh", routing=False))
        def test_chinese_edits_reach_the_agent(text): ...
    """
    if routing is True and kind is not None:
        raise ValueError("kind is for the agent's messages: it goes with routing=False (or None)")
    languages: tuple[Language, ...] = ("en", "zh") if language is None else (language,)
    kinds = tuple(_AGENT) if kind is None else (kind,)
    choices: list[st.SearchStrategy[str]] = []
    for lang in languages:
        if routing is not True:
            choices += [_fill(template, lang) for k in kinds for template in _AGENT[k][lang]]
        if routing is not False and kind is None:
            choices += [st.just(text) for text in _ROUTED[lang]]
    return st.one_of(choices)


# -- drafts -----------------------------------------------------------------------------------------------------

#: The longest draft the API takes (30 minutes), and the one a test usually wants (a minute).
MAX_DRAFT_MS = 1_800_000


@st.composite
def _segment(draw: st.DrawFn, track_type: TrackType, index: int, end_ms: int) -> dict[str, typing.Any]:
    start = draw(st.integers(0, max(0, end_ms - 1)))
    segment: dict[str, typing.Any] = {
        f.ID: f"sg_{index}",
        f.LABEL: draw(st.sampled_from(("city timelapse", "Lo-fi", "Urban Dreams", "ocean", "片段"))),
        f.START_MS: start,
        f.DURATION_MS: draw(st.integers(1, end_ms - start)),
    }
    if track_type is TrackType.TEXT:
        segment[f.CAPTION] = draw(st.sampled_from(_TITLES))
    else:
        segment[f.SOURCE_URL] = f"https://cdn.example.test/media/{index}.mp4"
    if track_type is TrackType.AUDIO:
        segment[f.VOLUME] = draw(st.floats(0, 1))
    return segment


@st.composite
def _draft(draw: st.DrawFn, max_duration_ms: int) -> dict[str, typing.Any]:
    length = draw(st.integers(1000, max_duration_ms))
    tracks: list[dict[str, typing.Any]] = []
    ends: list[int] = []
    for track_type in draw(st.lists(st.sampled_from(list(TrackType)), min_size=1, max_size=4)):
        segments = []
        for _ in range(draw(st.integers(1, 3))):
            segment = draw(_segment(track_type, len(ends) + 1, length))
            ends.append(segment[f.START_MS] + segment[f.DURATION_MS])
            segments.append(segment)
        tracks.append({f.TRACK_TYPE: int(track_type), f.SEGMENTS: segments})
    end = max(ends)
    meta = {
        f.TITLE: draw(st.sampled_from(("", *_TITLES))),
        f.WIDTH: draw(st.integers(8, 960)) * 2,
        f.HEIGHT: draw(st.integers(8, 960)) * 2,
        f.FPS: draw(st.integers(1, 60)),
    }
    return {f.TRACKS: tracks, f.DURATION_MS: end, f.META: meta}


def drafts(*, max_duration_ms: int = 60_000) -> st.SearchStrategy[dict[str, typing.Any]]:
    """Timelines that the API's ``Draft`` schema accepts and that can be exported (at least one track holds a
    segment): one to four tracks of any type, segments inside ``d``, an even size up to 1920x1920, a minute long
    at most unless ``max_duration_ms`` says more (up to 30 minutes).

        @given(drafts())
        def test_my_summary_names_every_track(draft): ...
    """
    if not 1000 <= max_duration_ms <= MAX_DRAFT_MS:
        raise ValueError(f"max_duration_ms must be between 1000 and {MAX_DRAFT_MS}, not {max_duration_ms}")
    return _draft(max_duration_ms)


_DEFECTS: tuple[tuple[str, typing.Callable[[dict[str, typing.Any]], None]], ...] = (
    ("no tracks key", lambda d: d.pop(f.TRACKS)),
    ("no duration", lambda d: d.pop(f.DURATION_MS)),
    ("no metadata", lambda d: d.pop(f.META)),
    ("duration past 30 minutes", lambda d: d.__setitem__(f.DURATION_MS, MAX_DRAFT_MS + 1)),
    ("negative duration", lambda d: d.__setitem__(f.DURATION_MS, -1)),
    ("odd width", lambda d: d[f.META].__setitem__(f.WIDTH, 1081)),
    ("width past 1920", lambda d: d[f.META].__setitem__(f.WIDTH, 1922)),
    ("no fps", lambda d: d[f.META].pop(f.FPS)),
    ("fps 0", lambda d: d[f.META].__setitem__(f.FPS, 0)),
    ("fps 61", lambda d: d[f.META].__setitem__(f.FPS, 61)),
    ("unknown track type", lambda d: d[f.TRACKS][0].__setitem__(f.TRACK_TYPE, 2)),
    ("track without segments key", lambda d: d[f.TRACKS][0].pop(f.SEGMENTS)),
    ("segment without id", lambda d: d[f.TRACKS][0][f.SEGMENTS][0].pop(f.ID)),
    ("negative start", lambda d: d[f.TRACKS][0][f.SEGMENTS][0].__setitem__(f.START_MS, -1)),
    ("start as text", lambda d: d[f.TRACKS][0][f.SEGMENTS][0].__setitem__(f.START_MS, "0")),
    ("fractional duration", lambda d: d[f.TRACKS][0][f.SEGMENTS][0].__setitem__(f.DURATION_MS, 1.5)),
    ("volume above 1", lambda d: d[f.TRACKS][0][f.SEGMENTS][0].__setitem__(f.VOLUME, 1.01)),
)


@st.composite
def _nearly(draw: st.DrawFn, max_duration_ms: int) -> dict[str, typing.Any]:
    draft = draw(drafts(max_duration_ms=max_duration_ms))
    _, defect = draw(st.sampled_from(_DEFECTS))
    defect(draft)
    return draft


def nearly_valid_drafts(*, max_duration_ms: int = 60_000) -> st.SearchStrategy[dict[str, typing.Any]]:
    """A draft of ``drafts()`` with exactly one defect that the ``Draft`` schema refuses: a required key gone,
    a number one step out of its range, or a value of the wrong type.

        @given(nearly_valid_drafts())
        def test_my_validator_refuses_it(draft): assert not my_validator.is_valid(draft)
    """
    return _nearly(max_duration_ms)


# -- uploads ----------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class UploadFile:
    """A file to upload, described: its name, content type and size in bytes (make the bytes as you need)."""

    name: str
    content_type: str
    size: int

    @property
    def file_type(self) -> FileType | None:
        """What the API files it as (``video``, ``image``, ``audio``), None for a name it does not accept."""
        return file_type_for(self.name)

    @property
    def too_large(self) -> bool:
        return self.size > MAX_UPLOAD_BYTES

    @property
    def expected_code(self) -> Code:
        """The API's answer: 4002 when too large (the size is refused before the body is read), else 4001 for a
        name it does not accept, else 0. Real content is assumed: a fake (text named ``.mp4``) is 4001 too."""
        if self.too_large:
            return Code.FILE_TOO_LARGE
        return Code.SUCCESS if self.file_type is not None else Code.UNSUPPORTED_FILE_TYPE


_STEMS = ("clip", "my video", "IMG_0042", "promo-final", "素材", "a.b")
_REFUSED = ("txt", "exe", "pdf", "heic", "mp4.exe", "zip")
#: Sizes to try: the empty file, one byte, around the 500 MB limit, and anything in between.
_SIZES = st.one_of(
    st.sampled_from((0, 1, MAX_UPLOAD_BYTES - 1, MAX_UPLOAD_BYTES, MAX_UPLOAD_BYTES + 1)),
    st.integers(0, MAX_UPLOAD_BYTES * 2),
)


@st.composite
def _upload(draw: st.DrawFn, accepted: bool | None, too_large: bool | None) -> UploadFile:
    take = draw(st.booleans()) if accepted is None else accepted
    if take:
        ext = draw(st.sampled_from(sorted(ACCEPTED_EXTENSIONS)))
        ext = ext.upper() if draw(st.booleans()) else ext
    else:
        ext = draw(st.sampled_from(_REFUSED))
    name = f"{draw(st.sampled_from(_STEMS))}.{ext}" if take or draw(st.booleans()) else draw(st.sampled_from(_STEMS))
    if too_large is None:
        size = draw(_SIZES)
    elif too_large:
        size = draw(st.integers(MAX_UPLOAD_BYTES + 1, MAX_UPLOAD_BYTES * 2))
    else:
        size = draw(st.one_of(st.sampled_from((0, 1, MAX_UPLOAD_BYTES - 1, MAX_UPLOAD_BYTES)), st.integers(0, 10**7)))
    content_type = mimetypes.guess_type(name.lower())[0] or "application/octet-stream"
    return UploadFile(name, content_type, size)


def upload_files(*, accepted: bool | None = None, too_large: bool | None = None) -> st.SearchStrategy[UploadFile]:
    """Files to upload, around the documents' limits: accepted extensions in either case and refused ones (or
    none), sizes of 0, 1 and 500 MB (the limit) plus or minus one byte, or anything up to twice that. ``accepted``
    and ``too_large`` pin either property; ``expected_code`` says what the API answers.

        @given(upload_files(too_large=True))
        def test_my_client_refuses_before_sending(file): ...
    """
    return _upload(accepted, too_large)


# -- the emulator's fault rules and knobs ------------------------------------------------------------------------

_PATHS = (
    "/run_sse",
    "/api/render/*",
    "/api/state/*",
    "/api/upload-video/*",
    "/api/credits/*",
    "/api/auth/anonymous-token",
    "/api/tasks/*",
)
_CODES = tuple(int(code) for code in Code if code is not Code.SUCCESS)  # every error code the API answers with


@st.composite
def _fault_rule(draw: st.DrawFn, realistic: bool) -> FaultRuleFields:
    rule: dict[str, typing.Any] = {}
    if draw(st.booleans()):
        rule["path"] = draw(st.sampled_from(_PATHS))
    if draw(st.booleans()):
        rule["method"] = draw(st.sampled_from(("GET", "POST", "get", "post")))
    if not realistic and draw(st.booleans()):
        rule["body_contains"] = draw(st.text(min_size=1, max_size=20))
    count = st.integers(0, 10) if realistic else st.integers(0, 1_000_000)
    effects = {
        "code": st.sampled_from(_CODES),
        "latency": st.floats(0, 30) if realistic else st.floats(0, 31_536_000),
        "cut_after": count,
        "error_after": count,
        "fail_render": st.sampled_from(("encoder crashed", "invalid draft", "渲染失败")),
    }
    chosen = draw(st.lists(st.sampled_from(sorted(effects)), min_size=1, max_size=2, unique=True))
    for name in chosen:
        rule[name] = draw(effects[name])
    if draw(st.booleans()):
        rule["times"] = draw(st.integers(1, 3) if realistic else st.integers(1, 1_000_000))
    if draw(st.booleans()):
        rule["probability"] = draw(st.floats(0, 1))
    return typing.cast(FaultRuleFields, rule)


def fault_rules(*, realistic: bool = True) -> st.SearchStrategy[FaultRuleFields]:
    """Fault rules the admin spec's ``FaultRule`` schema accepts (and so the emulator's ``add_faults``): a path
    of the API and a method or not, one or two effects, ``times`` and ``probability`` or not. ``realistic`` keeps
    latencies under 30 virtual seconds and counts small, so a test runs in milliseconds; without it every value
    the schema allows may come.

        @given(fault_rules())
        def test_my_client_survives(rule): emulated.emulator.add_faults(rule); ...
    """
    return _fault_rule(realistic)


def _range(low: float, high: float) -> st.SearchStrategy[list[float]]:
    return st.lists(st.floats(low, high), min_size=2, max_size=2)


@st.composite
def _knobs(draw: st.DrawFn, realistic: bool) -> KnobFields:
    seconds = 600.0 if realistic else 31_536_000.0
    big = 10**6 if realistic else 10**12
    limit = st.none() | (st.integers(50, 1000) if realistic else st.integers(0, 1_000_000))
    rate = st.none() | st.fixed_dictionaries(
        {"requests": st.integers(100, 1000) if realistic else st.integers(1, 1_000_000), "window": st.floats(1, 60)}
    )
    choices: dict[str, st.SearchStrategy[typing.Any]] = {
        "status_mode": st.sampled_from(("http", "always200")),
        "event_format": st.sampled_from(("adk", "typed")),
        "heartbeat": st.sampled_from(("empty", "comment", "json")),
        "heartbeat_interval": st.floats(5 if realistic else 0.1, 60 if realistic else seconds),
        "silent_close_rate": st.floats(0, 1),
        "on_disconnect": st.sampled_from(("continue", "cancel")),
        "render_shape": st.sampled_from(("toplevel", "wrapped")),
        "turn_durations": st.fixed_dictionaries(
            {}, optional={kind: _range(0, seconds) for kind in ("text", "edit", "generation")}
        ),
        "render_duration": _range(0, 120 if realistic else seconds),
        "credit_costs": st.fixed_dictionaries(
            {}, optional={kind: st.integers(0, 100 if realistic else big) for kind in ("generation", "edit", "chat")}
        ),
        "initial_credits": st.integers(0, 1000 if realistic else big),
        "token_lifetime": st.floats(86_400 if realistic else 1, 30 * 86_400 if realistic else big),
        "retry_after": st.integers(0, 60 if realistic else 86_400),
        "token_limit_per_ip": limit,
        "token_limit_per_client": limit,
        "token_limit_window": st.floats(1, 86_400 if realistic else big),
        "rate_limit": rate,
        "journal_size": st.integers(1000 if realistic else 1, 100_000),
        "export_allowed": st.booleans(),
        "max_disk": st.integers(0, 2**31) if realistic else st.integers(0, 2**50),
    }
    names = draw(st.lists(st.sampled_from(sorted(choices)), min_size=1, max_size=4, unique=True))
    return typing.cast(KnobFields, {name: draw(choices[name]) for name in names})


def knob_sets(*, realistic: bool = True) -> st.SearchStrategy[KnobFields]:
    """One to four of the emulator's knobs (never ``faults``: see ``fault_rules``) with values the admin spec's
    ``ConfigPatch`` schema accepts, so ``emulator.configure(**knobs)`` and ``PUT /__mock__/config`` take them.
    ``realistic`` keeps durations, credits and limits where a test runs in milliseconds (turns under ten virtual
    minutes, tokens living a day at least, a journal of 1,000 entries at least).

        @given(knob_sets())
        def test_my_client_under_any_knobs(knobs): emulated.emulator.configure(**knobs); ...
    """
    return _knobs(realistic)
