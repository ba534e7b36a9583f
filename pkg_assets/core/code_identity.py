"""What a piece of code runs, by name: the basis of every asset's code version.

`reached(fn)` follows a function's names transitively through this package: functions,
methods and classes (by source), constants (literals, and prompt templates by their
content-hash version), and SQL files (a string constant equal to a file stem in `sql/`,
read from `settings.sql_dir()`). `fingerprint` hashes that, plus any settings that change
results (a resource's `result_identity()`).

Why a walk of our own: Dagster derives no code version (it takes the string it is given),
and hand-written salts ("gate-5") were forgotten on edits, which is how editing
`sql/pkg_edges_build.sql` marked nothing stale. The walk follows names, not calls: it can
include a function the asset never calls on some path (a version that changes too often is
safe; one that never changes is the bug), and it cannot see code behind a parameter (a
resource's methods), which is why resources declare their identity instead.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import types
from collections.abc import Callable, Iterator

from pkg_assets import settings
from pkg_assets.core.prompts import PromptTemplate

PACKAGE = "pkg_assets"
_LITERALS = (str, int, float, bool, type(None))


def _ours(value: object) -> bool:
    return (getattr(value, "__module__", "") or "").split(".")[0] == PACKAGE


def _code_objects(code: types.CodeType) -> Iterator[types.CodeType]:
    yield code
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _code_objects(const)


def _constant(value: object) -> str | None:
    """A deterministic text for a constant the code reads, or None if it is not data we own."""
    if isinstance(value, PromptTemplate):
        return value.version
    if isinstance(value, _LITERALS):
        return repr(value)
    if isinstance(value, (tuple, list, frozenset, set)):
        parts = [_constant(v) for v in value]
        if any(p is None for p in parts):
            return None
        return "[" + ",".join(sorted(parts) if isinstance(value, (set, frozenset)) else parts) + "]"
    if isinstance(value, dict):
        parts = [(_constant(k), _constant(v)) for k, v in value.items()]
        if any(k is None or v is None for k, v in parts):
            return None
        return "{" + ",".join(f"{k}:{v}" for k, v in sorted(parts)) + "}"
    return None


def _source(cls: type) -> str:
    try:
        return inspect.getsource(cls)
    except (OSError, TypeError):
        return cls.__qualname__


def _members(cls: type) -> Iterator[Callable]:
    for member in vars(cls).values():
        if isinstance(member, (staticmethod, classmethod)):
            member = member.__func__
        elif isinstance(member, property):
            member = member.fget
        if inspect.isfunction(member):
            yield member


def reached(fn: Callable) -> dict[str, str]:
    """Everything of this package `fn` reaches by name: `{what: content}`, where `what` is
    `code:<qualified name>`, `const:<module>.<name>` or `sql:<file>`."""
    sql_files = {p.stem: [p] for p in settings.sql_dir().glob("*.sql")}
    # a folder of SQL files read by path (`sql_dir() / "views"`): every file in it
    sql_files |= {p.name: sorted(p.glob("*.sql")) for p in settings.sql_dir().iterdir() if p.is_dir()}
    found: dict[str, str] = {}
    queue: list[Callable] = [fn]
    seen: set[int] = set()
    while queue:
        function = inspect.unwrap(queue.pop())  # through @contextmanager, @wraps: the code that runs
        if id(function) in seen:
            continue
        seen.add(id(function))
        try:
            found[f"code:{function.__module__}.{function.__qualname__}"] = inspect.getsource(function)
        except (OSError, TypeError):
            continue  # generated (a dataclass's __init__): its class's source is already in
        scope = getattr(function, "__globals__", {})
        for code in _code_objects(function.__code__):
            for const in code.co_consts:
                if isinstance(const, str) and const in sql_files:
                    for path in sql_files[const]:
                        found[f"sql:{path.relative_to(settings.sql_dir())}"] = path.read_text()
            names = {n for n in code.co_names if not n.startswith("__")}
            for name in names:
                value = scope.get(name)
                if isinstance(value, types.ModuleType) and value.__name__.split(".")[0] == PACKAGE:
                    # `settings.x(...)`: the attributes read from one of our modules
                    targets = [(f"{value.__name__}.{attr}", getattr(value, attr)) for attr in names
                               if hasattr(value, attr)]
                else:
                    targets = [(f"{function.__module__}.{name}", value)]
                for label, target in targets:
                    if inspect.isfunction(target) and _ours(target):
                        queue.append(target)
                    elif inspect.isclass(target) and _ours(target):
                        if id(target) not in seen:
                            seen.add(id(target))
                            found[f"code:{target.__module__}.{target.__qualname__}"] = _source(target)
                            queue.extend(_members(target))
                    elif name in scope and (text := _constant(target)) is not None:
                        found[f"const:{label}"] = text
    return found


def fingerprint(fn: Callable, settings_identity: dict | None = None) -> str:
    """A short hash of everything `fn` reaches, plus settings that change its results."""
    digest = hashlib.sha256()
    for what, content in sorted(reached(fn).items()):
        digest.update(what.encode() + b"\0" + content.encode() + b"\0")
    digest.update(json.dumps(settings_identity or {}, sort_keys=True, default=str).encode())
    return digest.hexdigest()[:16]
