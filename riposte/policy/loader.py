"""Policy files into policy models, with every error as `FILE:LINE: message`.

A policy file is YAML, read with a SafeLoader (plain data only). Its version is the sha256 of the
file's bytes, in hex: any edit, even to a comment or an example, is a new version. The file's
name (without .yaml / .yml) must be the policy's name. An optional top-level `examples:` key
holds alerts the policy must and must not match; the engine ignores it (see `check`).

Every error in a file is reported, not only the first: pydantic collects field errors, and each
error's location is mapped back to the line of the YAML key or list item it names.
"""

from __future__ import annotations

import hashlib
import types
import typing
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from riposte.model import Frozen
from riposte.policy.choices import unknown_choice
from riposte.policy.models import Policy
from riposte.policy.snapshot import PolicySnapshot, SnapshotPolicy
from riposte.policy.yaml_lines import LineMap, load_yaml
from riposte.settings import Settings

MAX_FILE_BYTES = 1_048_576
SUFFIXES = (".yaml", ".yml")
EXAMPLES = "examples"


@dataclass(frozen=True)
class PolicyError:
    """One problem in a policy file, printed as `FILE:LINE: message`."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class Examples(Frozen):
    """Alerts (in any supported format) the policy must match, and must not."""

    match: tuple[Any, ...] = ()
    no_match: tuple[Any, ...] = ()


@dataclass(frozen=True)
class LoadedPolicy:
    path: Path
    policy: Policy
    hash: str  # sha256 of the file's bytes, hex
    examples: Examples
    lines: LineMap = field(compare=False, repr=False)

    def line_of(self, *path: str | int) -> int:
        return self.lines.line_of(path)


@dataclass(frozen=True)
class PolicySet:
    policies: tuple[LoadedPolicy, ...] = ()
    errors: tuple[PolicyError, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.errors


def policy_files(paths: Iterable[Path]) -> list[Path]:
    """The policy files named: files as given, folders expanded to their *.yaml / *.yml."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.iterdir() if p.suffix in SUFFIXES and p.is_file()))
        else:
            found.append(path)
    return found


def escaping_links(paths: Iterable[Path]) -> set[Path]:
    """Files in the folders named that are symlinks to somewhere outside their folder."""
    escaping: set[Path] = set()
    for path in paths:
        if not path.is_dir():
            continue
        folder = path.resolve()
        for entry in policy_files([path]):
            if entry.is_symlink() and not entry.resolve().is_relative_to(folder):
                escaping.add(entry)
    return escaping


def load_policies(paths: Iterable[Path]) -> PolicySet:
    """Load every policy file under `paths`; policy names must be unique.

    A symlink in a policy folder that leads outside it is refused unread: a policy folder
    must not become a way to read `/etc/shadow` into errors and the audit.
    """
    paths = list(paths)
    policies: list[LoadedPolicy] = []
    errors: list[PolicyError] = []
    by_name: dict[str, LoadedPolicy] = {}
    refused = escaping_links(paths)
    for path in policy_files(paths):
        if path in refused:
            errors.append(PolicyError(str(path), 1, "a symlink leading outside the policy folder"))
            continue
        loaded, problems = load_policy_file(path)
        errors.extend(problems)
        if loaded is None:
            continue
        twin = by_name.get(loaded.policy.name)
        if twin is not None:
            message = f"policy {loaded.policy.name!r} is also defined in {twin.path}"
            errors.append(PolicyError(str(path), loaded.line_of("name"), message))
            continue
        by_name[loaded.policy.name] = loaded
        policies.append(loaded)
    return PolicySet(tuple(policies), tuple(errors))


def load_policy_file(path: Path) -> tuple[LoadedPolicy | None, list[PolicyError]]:
    """One policy file: the policy, or None and every error found in it."""
    file = str(path)
    try:
        content = path.read_bytes()
    except OSError as err:
        return None, [PolicyError(file, 1, f"cannot read: {err.strerror or err}")]
    if len(content) > MAX_FILE_BYTES:
        return None, [PolicyError(file, 1, f"larger than {MAX_FILE_BYTES} bytes")]
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as err:
        line = content[: err.start].count(b"\n") + 1
        return None, [PolicyError(file, line, "not UTF-8 text")]
    data, lines, problems = load_yaml(text)
    if problems:
        return None, [PolicyError(file, p.line, p.message) for p in problems]
    if not isinstance(data, dict):
        return None, [PolicyError(file, 1, "a policy is a mapping, starting with `name:`")]
    examples_data = data.pop(EXAMPLES, None) or {}
    errors = [
        PolicyError(file, lines.line_of(loc), message)
        for loc, message in _validation_errors(Policy, data)
    ]
    errors += [
        PolicyError(file, lines.line_of((EXAMPLES, *loc)), message)
        for loc, message in _validation_errors(Examples, examples_data, prefix=EXAMPLES)
    ]
    stem = path.name.removesuffix(path.suffix)
    name = data.get("name")
    if isinstance(name, str) and name != stem:
        message = f"the file must be named after its policy: {name}{path.suffix}"
        errors.append(PolicyError(file, lines.line_of(("name",)), message))
    if errors:
        return None, sorted(errors, key=lambda e: e.line)
    policy = Policy.model_validate(data)
    digest = hashlib.sha256(content).hexdigest()
    examples = Examples.model_validate(examples_data)
    return LoadedPolicy(path, policy, digest, examples, lines), []


def snapshot_of(policies: Sequence[LoadedPolicy], settings: Settings) -> PolicySnapshot:
    """The snapshot a response evaluates: these policies and the engine-wide settings."""
    return PolicySnapshot(
        policies=tuple(SnapshotPolicy(policy=p.policy, hash=p.hash) for p in policies),
        default_mode=settings.default_mode,
        force_passive=settings.force_passive,
        protected_users=settings.protected_users,
        protected_ranges=settings.protected_ranges,
        budgets=not settings.guardrails.budget_limits().unlimited,
    )


def _validation_errors(
    model: type[BaseModel], data: object, prefix: str = ""
) -> list[tuple[tuple[str | int, ...], str]]:
    try:
        model.model_validate(data)
    except ValidationError as err:
        details = err.errors(include_url=False)
    else:
        return []
    out: list[tuple[tuple[str | int, ...], str]] = []
    locs = [tuple(d["loc"]) for d in details]
    for detail in details:
        loc = tuple(detail["loc"])
        if detail["type"] == "too_short" and any(o[: len(loc)] == loc and o != loc for o in locs):
            continue  # a list emptied by its items' own errors, reported already
        ctx = detail.get("ctx") or {}
        at = tuple(ctx["at"]) if "at" in ctx else loc
        out.append((at, _message(model, detail, at, prefix)))
    return out


def _message(
    model: type[BaseModel], detail: ErrorDetails, loc: tuple[str | int, ...], prefix: str
) -> str:
    where = _dotted((prefix, *loc) if prefix else loc)
    kind = detail["type"]
    ctx = detail.get("ctx") or {}
    if kind == "value_error":
        text = str(ctx.get("error", detail["msg"]))
    elif kind == "extra_forbidden":
        choices = _keys_at(model, loc[:-1])
        if not loc[:-1] and model is Policy:
            choices.append(EXAMPLES)
        text = unknown_choice("key", loc[-1], choices)
        where = _dotted((prefix, *loc[:-1]) if prefix else loc[:-1])
    elif kind == "missing":
        text = f"missing required key {loc[-1]!r}"
        where = _dotted((prefix, *loc[:-1]) if prefix else loc[:-1])
    else:
        text = detail["msg"]
    return f"{where}: {text}" if where else text


def _dotted(loc: Sequence[str | int]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _keys_at(model: type[BaseModel], loc: Sequence[str | int]) -> list[str]:
    """The keys a mapping at `loc` may hold, for suggesting the right one."""
    current: type[BaseModel] | None = model
    for part in loc:
        if isinstance(part, int) or current is None:
            continue
        fields = {(f.alias or name): f for name, f in current.model_fields.items()}
        found = fields.get(part)
        current = _model_in(found.annotation) if found is not None else None
    if current is None:
        return []
    return [f.alias or name for name, f in current.model_fields.items()]


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is not None:
        for arg in typing.get_args(annotation):
            found = _model_in(arg)
            if found is not None:
                return found
    return None
