"""Located YAML: text -> plain Python data with the line and column of every key and value.

Process, change and PDSA files all pass through here, so that every message
about them can say ``FILE:LINE:COLUMN``. The loader has ``yaml.safe_load``
semantics with three deliberate differences, each a mistake a user would
otherwise not see: a duplicate key is an error (not a silent overwrite), a
tag that would construct anything beyond plain data is an error, and merge
keys (``<<``) are not expanded.

It also turns pydantic validation errors into located, plain-language
:class:`~flowmap.errors.Problem` objects.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from flowmap.errors import Problem, did_you_mean

__all__ = [
    "MAX_BYTES",
    "LocatedDoc",
    "describe_value",
    "parse_yaml",
    "pydantic_problems",
    "read_text",
    "source_name",
    "validate_document",
]

MAX_BYTES = 1_000_000
"""Process, change and PDSA files are small; anything bigger is the wrong file."""

_MAX_NODES = 200_000
_PLAIN_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:timestamp",
}
_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"

Path_ = tuple[str | int, ...]


@dataclass
class LocatedDoc:
    """Plain data from one YAML document, with the 1-based position of each part."""

    file: str
    data: Any
    values: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    keys: dict[Path_, tuple[int, int]] = field(default_factory=dict)

    def where(self, path: Sequence[str | int], *, key: bool = False) -> tuple[int | None, int | None]:
        """Line and column of ``path`` (of its key when ``key``), else of its nearest ancestor."""
        p = tuple(path)
        if key and p in self.keys:
            return self.keys[p]
        while True:
            if p in self.values:
                return self.values[p]
            if not p:
                return (None, None)
            p = p[:-1]

    def problem(self, path: Sequence[str | int], message: str, *, key: bool = False) -> Problem:
        line, col = self.where(path, key=key)
        return Problem(self.file, line, col, message)


def read_text(path: Path, *, what: str) -> str:
    """Read a small UTF-8 text file, or raise a located SpecError saying why not."""
    from flowmap.errors import SpecError

    name = str(path)
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise SpecError(
                [
                    Problem(
                        name,
                        None,
                        None,
                        f"is {size / 1e6:.1f} MB; a {what} is a small text file (under "
                        f"{MAX_BYTES // 1_000_000} MB). Check that this is the right file.",
                    )
                ]
            )
        raw = path.read_bytes()
    except FileNotFoundError:
        raise SpecError([Problem(name, None, None, f"no such file; give the path to a {what}")]) from None
    except IsADirectoryError:
        raise SpecError([Problem(name, None, None, f"is a folder; give the path to a {what} (a .yaml file)")]) from None
    except PermissionError:
        raise SpecError([Problem(name, None, None, "cannot be read (permission denied)")]) from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        before = raw[: e.start]
        line = before.count(b"\n") + 1
        col = e.start - (before.rfind(b"\n") + 1) + 1
        raise SpecError(
            [
                Problem(
                    name,
                    line,
                    col,
                    f"is not UTF-8 text (byte 0x{raw[e.start]:02x}); save the file as UTF-8 "
                    "(in Notepad: File > Save As > Encoding: UTF-8)",
                )
            ]
        ) from None


def parse_yaml(
    text: str, file: str, *, what: str = "process file", first: str = "flowmap: 1"
) -> tuple[LocatedDoc | None, list[Problem]]:
    """Parse one YAML document into plain data with positions, collecting problems."""
    problems: list[Problem] = []
    if len(text.encode("utf-8", errors="replace")) > MAX_BYTES:
        problems.append(
            Problem(file, None, None, f"is larger than {MAX_BYTES // 1_000_000} MB; check that this is the right file")
        )
        return None, problems
    try:
        loader = yaml.SafeLoader(text)
    except yaml.reader.ReaderError as e:
        return None, [_reader_problem(text, file, e)]
    try:
        try:
            node = loader.get_single_node()
        except yaml.reader.ReaderError as e:
            problems.append(_reader_problem(text, file, e))
            return None, problems
        except yaml.MarkedYAMLError as e:
            mark = e.problem_mark or e.context_mark
            msg = f"{e.problem or 'YAML syntax error'}"
            if e.context:
                msg = f"{e.context}, {msg}"
            if "'\\t'" in msg or "\t" in msg:
                msg += "; YAML indentation must use spaces, not tabs"
            msg = f"YAML syntax error: {msg}"
            problems.append(Problem(file, mark.line + 1 if mark else None, mark.column + 1 if mark else None, msg))
            return None, problems
        except yaml.YAMLError as e:
            problems.append(Problem(file, None, None, f"YAML error: {e}"))
            return None, problems
        except RecursionError:
            problems.append(Problem(file, None, None, f"is nested too deeply to be a {what}"))
            return None, problems
    finally:
        loader.dispose()
    if node is None:
        problems.append(Problem(file, None, None, f"is empty; a {what} starts with a '{first}' line"))
        return None, problems
    doc = LocatedDoc(file=file, data=None)
    budget = [_MAX_NODES]
    constructor = yaml.SafeLoader("")
    try:
        doc.data = _convert(node, (), doc, problems, budget, constructor)
    except RecursionError:
        problems.append(Problem(file, None, None, f"is nested too deeply to be a {what}"))
        return None, problems
    except _TooBig:
        problems.append(Problem(file, None, None, "has too many parts (aliases expanding without end?)"))
        return None, problems
    return doc, problems


def _reader_problem(text: str, file: str, e: yaml.reader.ReaderError) -> Problem:
    before = text[: e.position]
    line = before.count("\n") + 1
    col = e.position - (before.rfind("\n") + 1) + 1
    return Problem(
        file,
        line,
        col,
        f"contains a control character (#x{e.character:04x}) that YAML does not allow; delete it "
        "(it often comes from copying text out of another program)",
    )


class _TooBig(Exception):
    pass


def _pos(node: yaml.Node) -> tuple[int, int]:
    return (node.start_mark.line + 1, node.start_mark.column + 1)


def _convert(
    node: yaml.Node,
    path: Path_,
    doc: LocatedDoc,
    problems: list[Problem],
    budget: list[int],
    constructor: yaml.SafeLoader,
) -> Any:
    budget[0] -= 1
    if budget[0] < 0:
        raise _TooBig
    doc.values.setdefault(path, _pos(node))
    line, col = _pos(node)
    if isinstance(node, yaml.MappingNode):
        if node.tag != _MAP_TAG:
            problems.append(
                Problem(doc.file, line, col, f"YAML tag '{node.tag}' is not allowed here; write plain data")
            )
            return None
        out: dict[Any, Any] = {}
        for knode, vnode in node.value:
            if not isinstance(knode, yaml.ScalarNode):
                kl, kc = _pos(knode)
                problems.append(Problem(doc.file, kl, kc, "a key must be plain text, not a list or mapping"))
                continue
            key = _scalar(knode, doc, problems, constructor)
            if isinstance(key, bool) and knode.style is None:
                key = knode.value  # YAML 1.1 reads a plain `on:` or `yes:` key as true; a key is its text
            if isinstance(key, (list, dict)) or key is _BAD:
                continue
            kpath = (*path, key)
            if key in out:
                first = doc.keys.get(kpath, (None, None))[0]
                kl, kc = _pos(knode)
                problems.append(
                    Problem(
                        doc.file,
                        kl,
                        kc,
                        f"duplicate key '{key}' (first given on line {first}); keep one of them",
                    )
                )
                continue
            doc.keys[kpath] = _pos(knode)
            out[key] = _convert(vnode, kpath, doc, problems, budget, constructor)
        return out
    if isinstance(node, yaml.SequenceNode):
        if node.tag != _SEQ_TAG:
            problems.append(
                Problem(doc.file, line, col, f"YAML tag '{node.tag}' is not allowed here; write plain data")
            )
            return None
        return [_convert(item, (*path, i), doc, problems, budget, constructor) for i, item in enumerate(node.value)]
    value = _scalar(node, doc, problems, constructor)
    return None if value is _BAD else value


_BAD = object()


def _scalar(node: yaml.Node, doc: LocatedDoc, problems: list[Problem], constructor: yaml.SafeLoader) -> Any:
    line, col = _pos(node)
    if node.tag not in _PLAIN_TAGS:
        problems.append(Problem(doc.file, line, col, f"YAML tag '{node.tag}' is not allowed here; write plain data"))
        return _BAD
    try:
        return constructor.construct_object(node, deep=True)
    except (yaml.YAMLError, ValueError, OverflowError) as e:
        problems.append(Problem(doc.file, line, col, f"cannot read value {node.value!r}: {e}"))
        return _BAD


# --- pydantic errors -> problems ---------------------------------------------------


def describe_value(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing"
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _model_fields_at(model: type[Any], loc: Sequence[str | int]) -> list[str]:
    """Aliases of the fields accepted at ``loc`` (for "did you mean")."""
    current: Any = model
    for part in loc:
        current = _unwrap_model(current, want_item=isinstance(part, int))
        if current is None:
            return []
        if isinstance(part, int):
            continue
        fields = getattr(current, "model_fields", None)
        if fields is None:
            return []
        match = next((f for n, f in fields.items() if (f.alias or n) == part), None)
        if match is None:
            return []
        current = match.annotation
    current = _unwrap_model(current, want_item=False)
    fields = getattr(current, "model_fields", None) or {}
    return [f.alias or n for n, f in fields.items()]


def _unwrap_model(tp: Any, *, want_item: bool) -> Any:
    from pydantic import BaseModel

    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return tp
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Annotated:
        return _unwrap_model(args[0], want_item=want_item)
    if origin in (typing.Union, types.UnionType) or origin in (list, tuple) or want_item:
        for a in args:
            if a is type(None) or a is Ellipsis:
                continue
            found = _unwrap_model(a, want_item=False)
            if found is not None:
                return found
    return None


def _describe_loc(loc: Sequence[str | int]) -> str:
    name = next((p for p in reversed(loc) if isinstance(p, str)), None)
    return f"'{name}'" if name is not None else "this value"


def pydantic_problems(doc: LocatedDoc, model: type[Any], errors: Iterator[dict[str, Any]] | list[Any]) -> list[Problem]:
    """Plain-language, located problems from ``ValidationError.errors()``."""
    out: list[Problem] = []
    for err in errors:
        loc: tuple[str | int, ...] = tuple(err["loc"])
        kind = err["type"]
        got = describe_value(err.get("input"))
        what = _describe_loc(loc)
        ctx = err.get("ctx") or {}
        if kind == "extra_forbidden":
            allowed = _model_fields_at(model, loc[:-1])
            msg = f"unknown key '{loc[-1]}'{did_you_mean(str(loc[-1]), allowed)}"
            if allowed and not did_you_mean(str(loc[-1]), allowed):
                msg += f" (allowed here: {', '.join(allowed)})"
            out.append(doc.problem(loc, msg, key=True))
            continue
        if kind == "missing":
            parent = loc[:-1]
            out.append(doc.problem(parent, f"missing required key '{loc[-1]}'"))
            continue
        if kind in ("string_type",):
            msg = f"{what} must be text (got {got}); put quotes around it if it is meant as text"
        elif kind in ("int_type", "int_parsing", "int_from_float"):
            msg = f"{what} must be a whole number (got {got})"
        elif kind in ("float_type", "float_parsing", "finite_number"):
            msg = f"{what} must be a finite number (got {got})"
        elif kind == "bool_type":
            msg = f"{what} must be true or false (got {got})"
        elif kind in ("list_type", "tuple_type"):
            msg = f"{what} must be a list (got {got})"
        elif kind in ("model_type", "dict_type", "model_attributes_type"):
            msg = f"{what} must be a mapping of keys to values (got {got})"
        elif kind == "literal_error":
            expected = str(ctx.get("expected", ""))
            options = [o.strip().strip("'") for o in expected.replace(" or ", ", ").split(",") if o.strip()]
            hint = did_you_mean(str(err.get("input")), options) if isinstance(err.get("input"), str) else ""
            msg = f"{what} must be {expected} (got {got}){hint}"
        elif kind in ("greater_than_equal", "greater_than"):
            bound = ctx.get("ge", ctx.get("gt"))
            word = "at least" if kind == "greater_than_equal" else "more than"
            msg = f"{what} must be {word} {bound:g} (got {got})"
        elif kind in ("less_than_equal", "less_than"):
            bound = ctx.get("le", ctx.get("lt"))
            word = "at most" if kind == "less_than_equal" else "less than"
            msg = f"{what} must be {word} {bound:g} (got {got})"
        elif kind == "string_pattern_mismatch":
            msg = (
                f"{what} must be a short id of letters, digits, '_' or '-' with no spaces (got {got}); "
                "for example 'bundle_sent'"
            )
        elif kind == "too_short" or kind == "string_too_short":
            msg = f"{what} must not be empty"
        elif kind in ("date_type", "date_parsing", "date_from_datetime_parsing"):
            msg = f"{what} must be a date written YYYY-MM-DD (got {got})"
        elif kind == "value_error":
            msg = str(ctx.get("error", err["msg"]))
        else:
            msg = f"{what}: {err['msg']} (got {got})"
        out.append(doc.problem(loc, msg))
    return out


def source_name(path: str | Path | None) -> str:
    return str(path) if path is not None else "<text>"


def validate_document(
    text: str, file: str, model: type[Any], *, shape: str, what: str = "process file", first: str = "flowmap: 1"
) -> tuple[LocatedDoc | None, Any, list[Problem]]:
    """Parse located YAML and validate it against a pydantic ``model``, collecting every problem.

    Returns the located document (None when the YAML itself cannot be read),
    the validated model (None when it does not validate), and the problems so
    far. ``shape`` describes the expected top level for the message when the
    document is not a mapping, e.g. "a mapping with 'flowmap-pdsa: 1' and 'cycles'".
    """
    from pydantic import ValidationError

    doc, problems = parse_yaml(text, file, what=what, first=first)
    if doc is None:
        return None, None, problems
    if not isinstance(doc.data, dict):
        found = "a list" if isinstance(doc.data, list) else repr(doc.data)
        problems.append(doc.problem((), f"expected {shape} (found {found})"))
        return doc, None, problems
    try:
        return doc, model.model_validate(doc.data), problems
    except ValidationError as e:
        problems.extend(pydantic_problems(doc, model, e.errors()))
        return doc, None, problems
