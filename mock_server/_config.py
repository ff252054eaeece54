"""The emulator's knobs and fault rules: defaults, loading from YAML or JSON, merging partial updates.

The shape of a configuration is the ``PUT /__mock__/config`` body of ``specs/mock-admin.openapi.yaml``; files
given with ``--config`` are checked against the same schema, so a bad file gets one line naming its problem.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import pathlib
import typing

from nemo_contract.protocol import (
    DEFAULT_RETRY_AFTER,
    TOKEN_LIFETIME,
    EventFormat,
    HeartbeatMode,
    OnDisconnect,
    RenderShape,
    StatusMode,
)
from nemo_contract.protocol.specs import ADMIN_SPEC

from ._disk import DEFAULT_MAX_DISK
from ._errors import ProtocolError
from ._validation import validate_body

__all__ = ["PRESETS", "Config", "ConfigError", "FaultRule", "load_config_file", "load_preset", "preset_names"]

CONFIG_PATH = "/__mock__/config"


class ConfigError(ValueError):
    """A configuration (file, PUT body or keyword) that the emulator cannot run with."""


@dataclasses.dataclass(frozen=True, slots=True)
class FaultRule:
    """Make matching requests fail: a protocol code, latency, or a cut or broken stream."""

    method: str | None = None
    path: str | None = None  # a glob: "/api/render/*"
    body_contains: str | None = None
    code: int | None = None
    latency: float | None = None  # virtual seconds before the answer
    cut_after: int | None = None  # /run_sse: close after N events, no error
    error_after: int | None = None  # /run_sse: send data: {"error": ...} after N events
    fail_render: str | None = None  # render start: accept, then fail with this error
    times: int | None = None  # only the next K matches
    probability: float | None = None  # seeded draw per match

    def to_dict(self) -> dict[str, typing.Any]:
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}


_RANGES = ("text", "edit", "generation")


@dataclasses.dataclass(frozen=True, slots=True)
class Config:
    """Every knob of the emulator, with the defaults of PROTOCOL.md."""

    status_mode: StatusMode = StatusMode.HTTP
    event_format: EventFormat = EventFormat.ADK
    heartbeat: HeartbeatMode = HeartbeatMode.EMPTY
    heartbeat_interval: float = 15.0
    silent_close_rate: float = 0.3
    on_disconnect: OnDisconnect = OnDisconnect.CONTINUE
    render_shape: RenderShape = RenderShape.TOPLEVEL
    turn_durations: dict[str, tuple[float, float]] = dataclasses.field(
        default_factory=lambda: dict(text=(5.0, 15.0), edit=(10.0, 30.0), generation=(100.0, 300.0))
    )
    render_duration: tuple[float, float] = (30.0, 90.0)
    credit_costs: dict[str, int] = dataclasses.field(default_factory=lambda: {"generation": 10, "edit": 5, "chat": 0})
    initial_credits: int = 100
    token_lifetime: float = TOKEN_LIFETIME
    retry_after: int = DEFAULT_RETRY_AFTER
    token_limit_per_ip: int | None = None
    token_limit_per_client: int | None = None
    token_limit_window: float = TOKEN_LIFETIME
    rate_limit: tuple[int, float] | None = None  # (requests, window seconds) per token
    journal_size: int = 1000
    export_allowed: bool = True
    max_disk: int = DEFAULT_MAX_DISK  # bytes the emulator's files may take under the data directory
    faults: tuple[FaultRule, ...] = ()

    def to_dict(self) -> dict[str, typing.Any]:
        """The configuration as ``GET /__mock__/config`` shows it."""
        return {
            "status_mode": self.status_mode.value,
            "event_format": self.event_format.value,
            "heartbeat": self.heartbeat.value,
            "heartbeat_interval": self.heartbeat_interval,
            "silent_close_rate": self.silent_close_rate,
            "on_disconnect": self.on_disconnect.value,
            "render_shape": self.render_shape.value,
            "turn_durations": {k: list(v) for k, v in self.turn_durations.items()},
            "render_duration": list(self.render_duration),
            "credit_costs": dict(self.credit_costs),
            "initial_credits": self.initial_credits,
            "token_lifetime": self.token_lifetime,
            "retry_after": self.retry_after,
            "token_limit_per_ip": self.token_limit_per_ip,
            "token_limit_per_client": self.token_limit_per_client,
            "token_limit_window": self.token_limit_window,
            "rate_limit": None
            if self.rate_limit is None
            else {"requests": self.rate_limit[0], "window": self.rate_limit[1]},
            "journal_size": self.journal_size,
            "export_allowed": self.export_allowed,
            "max_disk": self.max_disk,
            "faults": [rule.to_dict() for rule in self.faults],
        }

    def merged(self, patch: typing.Mapping[str, typing.Any]) -> Config:
        """A new configuration with ``patch`` applied: top-level keys replace, the two tables merge by key.

        The whole patch is checked (the schema gives every number its documented range) before anything is built,
        so a refused patch raises ConfigError and leaves nothing half-applied.
        """
        try:
            validate_body(patch, CONFIG_PATH, "put", ADMIN_SPEC)
        except ProtocolError as exc:
            raise ConfigError(exc.message.removeprefix("invalid request: ").replace("body", "config", 1)) from None
        values = self.to_dict()
        for key, value in patch.items():
            if key in ("turn_durations", "credit_costs"):
                values[key] = {**values[key], **copy.deepcopy(value)}
            else:
                values[key] = copy.deepcopy(value)
        return _build(values)


def _span(name: str, value: typing.Sequence[float]) -> tuple[float, float]:
    """A [min, max] pair; the schema cannot say min <= max, so either order means the same range."""
    low, high = sorted((float(value[0]), float(value[1])))
    if low < 0:
        raise ConfigError(f"config.{name}: durations cannot be negative, got {list(value)}")
    return low, high


def _build(values: dict[str, typing.Any]) -> Config:
    limit = values["rate_limit"]
    return Config(
        status_mode=StatusMode(values["status_mode"]),
        event_format=EventFormat(values["event_format"]),
        heartbeat=HeartbeatMode(values["heartbeat"]),
        heartbeat_interval=float(values["heartbeat_interval"]),
        silent_close_rate=float(values["silent_close_rate"]),
        on_disconnect=OnDisconnect(values["on_disconnect"]),
        render_shape=RenderShape(values["render_shape"]),
        turn_durations={k: _span(f"turn_durations.{k}", values["turn_durations"][k]) for k in _RANGES},
        render_duration=_span("render_duration", values["render_duration"]),
        credit_costs={k: int(values["credit_costs"][k]) for k in ("generation", "edit", "chat")},
        initial_credits=int(values["initial_credits"]),
        token_lifetime=float(values["token_lifetime"]),
        retry_after=int(values["retry_after"]),
        token_limit_per_ip=values["token_limit_per_ip"],
        token_limit_per_client=values["token_limit_per_client"],
        token_limit_window=float(values["token_limit_window"]),
        rate_limit=None if limit is None else (int(limit["requests"]), float(limit["window"])),
        journal_size=int(values["journal_size"]),
        export_allowed=bool(values["export_allowed"]),
        max_disk=int(values["max_disk"]),
        faults=tuple(FaultRule(**rule) for rule in values["faults"]),
    )


#: Configurations shipped with the emulator, by name (``nemo-mock serve --preset NAME``).
PRESETS = pathlib.Path(__file__).parent / "presets"


def preset_names() -> list[str]:
    return sorted(path.stem for path in PRESETS.glob("*.yaml"))


def load_preset(name: str, base: Config | None = None) -> Config:
    """A shipped configuration (``documented-costs``: the credit costs of the documents) over ``base``."""
    if name not in preset_names():
        raise ConfigError(f"no preset {name!r}; the presets are: {', '.join(preset_names())}")
    return load_config_file(PRESETS / f"{name}.yaml", base)


def load_config_file(path: pathlib.Path, base: Config | None = None) -> Config:
    """A configuration from a YAML or JSON file (JSON is YAML), over ``base`` (the defaults when None);
    ConfigError names the problem in one line."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from None
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text)
    except (ValueError, ImportError) as exc:
        raise ConfigError(f"config file {path} is not valid YAML or JSON: {str(exc).splitlines()[0]}") from None
    except Exception as exc:  # yaml.YAMLError and friends: one line, not a traceback
        raise ConfigError(f"config file {path} is not valid YAML: {str(exc).splitlines()[0]}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping of knobs, not {type(data).__name__}")
    try:
        return (base or Config()).merged(data)
    except ConfigError as exc:
        raise ConfigError(f"config file {path}: {exc}") from None
