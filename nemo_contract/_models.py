"""What the client hands back: messages for the user, and small typed results of the non-chat operations."""

from __future__ import annotations

import dataclasses
import enum
import pathlib
import typing

from ._summary import format_timeline
from .protocol import fields as f

__all__ = [
    "Credentials",
    "Credits",
    "ExportRecord",
    "ExportResult",
    "Message",
    "MessageKind",
    "PendingRender",
    "Snapshot",
    "UploadedFile",
    "field_dict",
    "field_list",
]


def field_dict(container: typing.Mapping[str, typing.Any], key: str) -> dict[str, typing.Any]:
    """``container[key]`` when it is an object, else an empty one (answers are read defensively)."""
    value = container.get(key)
    return value if isinstance(value, dict) else {}


def field_list(container: typing.Mapping[str, typing.Any], key: str) -> list[typing.Any]:
    value = container.get(key)
    return value if isinstance(value, list) else []


class MessageKind(enum.StrEnum):
    """What a message is, so a front end can style it (the text is always complete on its own)."""

    REPLY = "reply"  # the agent's words, GUI instructions translated
    NOTICE = "notice"  # the client speaking: setup, recovery, what it does on the user's behalf
    PROGRESS = "progress"  # "⏳ Still working...", render progress
    TIMELINE = "timeline"  # the documents' track summary
    CHANGES = "changes"  # what a silent turn changed
    CREDITS = "credits"
    UPLOAD = "upload"
    EXPORT = "export"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Message:
    """One thing to show the user. ``str(message)`` is its text."""

    kind: MessageKind
    text: str
    #: Render progress in percent, on PROGRESS messages of an export.
    progress: int | None = None

    def __str__(self) -> str:
        return self.text

    def to_dict(self) -> dict[str, typing.Any]:
        data: dict[str, typing.Any] = dict(kind=self.kind.value, text=self.text)
        if self.progress is not None:
            data.update(progress=self.progress)
        return data


@dataclasses.dataclass(slots=True, kw_only=True)
class Credentials:
    """What ties a client to its account and session across runs. Its repr never shows the token."""

    client_id: str | None = None
    token: str | None = None
    user_id: str | None = None
    session_id: str | None = None

    def __repr__(self) -> str:
        token = "None" if self.token is None else "'***'"
        return (
            f"Credentials(client_id={self.client_id!r}, token={token}, user_id={self.user_id!r}, "
            f"session_id={self.session_id!r})"
        )

    def to_dict(self) -> dict[str, str | None]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: typing.Mapping[str, typing.Any]) -> Credentials:
        found = {field.name: data.get(field.name) for field in dataclasses.fields(cls)}
        return cls(**{name: value for name, value in found.items() if isinstance(value, str) and value})


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Credits:
    available: int
    frozen: int
    total: int

    @property
    def text(self) -> str:
        return f"Credits: {self.available} available, {self.frozen} in use, {self.total} total."

    def to_dict(self) -> dict[str, int]:
        return dataclasses.asdict(self)


def _size(count: int) -> str:
    if count < 1024 * 1024:
        return f"{max(1, round(count / 1024))} KB"
    return f"{count / (1024 * 1024):.1f} MB"


def _seconds(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0") + "s"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class UploadedFile:
    filename: str
    file_type: str
    cdn_url: str | None = None
    duration: float | None = None
    width: int | None = None
    height: int | None = None
    fps: float | None = None

    @property
    def text(self) -> str:
        facts = [self.file_type]
        if self.duration is not None:
            facts.append(_seconds(self.duration))
        if self.width and self.height:
            facts.append(f"{self.width}x{self.height}")
        return f"Uploaded {self.filename} ({', '.join(facts)})."

    def to_dict(self) -> dict[str, typing.Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Snapshot:
    """A session's state as the client reads it: the draft and the media lists."""

    session_id: str | None
    draft: dict[str, typing.Any]
    video_infos: list[dict[str, typing.Any]]
    generated_media: list[typing.Any]

    @property
    def summary(self) -> str:
        """The documents' track summary of the draft."""
        return format_timeline(self.draft)

    @property
    def text(self) -> str:
        lines = [self.summary]
        tracks = field_list(self.draft, f.TRACKS)
        if not tracks:
            lines.append("Nothing generated yet: describe the video you want.")
        size = field_dict(self.draft, f.META)
        length = self.draft.get(f.DURATION_MS)
        if tracks and isinstance(length, int | float):
            shape = f", {size[f.WIDTH]}x{size[f.HEIGHT]}" if size.get(f.WIDTH) and size.get(f.HEIGHT) else ""
            lines.append(f"Length {_seconds(length / 1000)}{shape}.")
        if self.video_infos:
            count = len(self.video_infos)
            lines.append(f"{count} uploaded file{'s' if count != 1 else ''}.")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, typing.Any]:
        """A script-friendly description (the client's own shape, not the service's)."""
        meta = field_dict(self.draft, f.META)
        return dict(
            session_id=self.session_id,
            timeline=self.summary,
            tracks=len(field_list(self.draft, f.TRACKS)),
            duration_ms=self.draft.get(f.DURATION_MS),
            width=meta.get(f.WIDTH),
            height=meta.get(f.HEIGHT),
            uploads=[info.get(f.FILENAME) for info in self.video_infos if isinstance(info, dict)],
            generated_media=len(self.generated_media),
        )


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ExportRecord:
    """The last export of a client: which session's draft, saved where."""

    session_id: str | None
    draft: dict[str, typing.Any]
    path: pathlib.Path

    def matches(self, snapshot: Snapshot) -> bool:
        return snapshot.session_id == self.session_id and snapshot.draft == self.draft


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class PendingRender:
    """A render an export started whose video is not saved yet: it keeps running on the service after the client
    stops waiting. ``url`` is its download link once it completed."""

    render_id: str
    url: str | None = None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ExportResult:
    render_id: str
    path: pathlib.Path
    url: str
    size: int

    @property
    def text(self) -> str:
        return f"✅ Video ready: saved to {self.path} ({_size(self.size)})."

    def to_dict(self) -> dict[str, typing.Any]:
        return dict(render_id=self.render_id, path=str(self.path), url=self.url, size=self.size)
