"""Who is calling: the skill document a client follows, its version, and the platform it is installed on.

Both documents ask for three attribution headers on every request: ``X-Skill-Source`` (the document's slug),
``X-Skill-Version`` (the ``version`` of the skill file's YAML frontmatter) and ``X-Skill-Platform`` (from the
install path: ``~/.clawhub/`` is ``clawhub``, ``~/.cursor/skills/`` is ``cursor``, anything else ``unknown``).
"""

from __future__ import annotations

import dataclasses
import os
import pathlib

from ._exceptions import LocalFileError
from .protocol import DEFAULT_SKILL_VERSION, PLATFORMS, UNKNOWN_PLATFORM, Header, SkillSource

__all__ = ["DEFAULT_SKILL_VERSION", "PLATFORMS", "SkillIdentity", "detect_platform", "read_skill_version"]


def detect_platform(install_path: str | os.PathLike[str], *, home: str | os.PathLike[str] | None = None) -> str:
    """``clawhub``, ``cursor`` or ``unknown`` for a skill installed at ``install_path``."""
    home_dir = pathlib.Path(home) if home is not None else pathlib.Path.home()
    path = pathlib.Path(install_path).expanduser()
    candidates = {pathlib.Path(os.path.abspath(path))}
    try:
        candidates.add(path.resolve())
        home_dirs = {pathlib.Path(os.path.abspath(home_dir)), home_dir.resolve()}
    except OSError:  # pragma: no cover - resolve() only fails on exotic file systems
        home_dirs = {pathlib.Path(os.path.abspath(home_dir))}
    for platform, parts in PLATFORMS:
        for base in home_dirs:
            root = base.joinpath(*parts)
            if any(candidate == root or root in candidate.parents for candidate in candidates):
                return platform
    return UNKNOWN_PLATFORM


def _frontmatter(text: str) -> str | None:
    """The YAML between a leading ``---`` line and the next ``---`` (or ``...``) line."""
    lines = text.lstrip("\ufeff").splitlines()
    if not lines or lines[0].strip() != "---":
        return None
    for index, line in enumerate(lines[1:], start=1):
        if line.strip() in ("---", "..."):
            return "\n".join(lines[1:index])
    return None


def read_skill_version(skill_file: str | os.PathLike[str]) -> str | None:
    """The frontmatter ``version`` of a skill file exactly as written (``1.10`` stays ``1.10``), or None."""
    import yaml

    path = pathlib.Path(skill_file).expanduser()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not a UTF-8 text file"
        raise LocalFileError(f"cannot read the skill file {path}: {reason}") from None
    block = _frontmatter(text)
    if block is None:
        return None
    try:
        # The node tree keeps a scalar's source text, which a loaded float (1.10 -> 1.1) would not.
        node = yaml.compose(block, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        raise LocalFileError(f"the frontmatter of the skill file {path} is not valid YAML") from None
    if not isinstance(node, yaml.MappingNode):
        return None
    for key, value in node.value:
        if isinstance(key, yaml.ScalarNode) and key.value == "version" and isinstance(value, yaml.ScalarNode):
            version = str(value.value).strip()
            return version or None
    return None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SkillIdentity:
    """The three attribution headers' values."""

    source: SkillSource = SkillSource.VIDEO_TO_GENERATOR
    version: str = DEFAULT_SKILL_VERSION
    platform: str = UNKNOWN_PLATFORM

    @classmethod
    def detect(
        cls,
        source: SkillSource | str = SkillSource.VIDEO_TO_GENERATOR,
        *,
        skill_file: str | os.PathLike[str] | None = None,
        install_path: str | os.PathLike[str] | None = None,
        home: str | os.PathLike[str] | None = None,
    ) -> SkillIdentity:
        """The identity of a skill: version from ``skill_file``'s frontmatter, platform from where it is installed.

        ``install_path`` defaults to the skill file, else to this package's own location.
        """
        version = read_skill_version(skill_file) if skill_file is not None else None
        where = install_path if install_path is not None else skill_file
        if where is None:
            where = pathlib.Path(__file__).parent
        return cls(
            source=SkillSource(source),
            version=version or DEFAULT_SKILL_VERSION,
            platform=detect_platform(where, home=home),
        )

    def headers(self) -> dict[str, str]:
        return {
            Header.SKILL_SOURCE.value: self.source.value,
            Header.SKILL_VERSION.value: self.version,
            Header.SKILL_PLATFORM.value: self.platform,
        }
