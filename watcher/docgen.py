"""The configuration reference, generated from the settings models so the docs cannot drift from the code.

``python -m watcher.docgen`` prints it; ``--write FILE`` replaces the part of FILE between the markers;
``--check FILE`` exits 1 when that part is out of date (the tests run it on docs/configuration.md).
Every section, key, type, default, description and ``JOBWATCH_...`` variable comes from the pydantic
models of :mod:`watcher.config` and :mod:`watcher.notify.settings`, and the job keys from the adapters.
"""

from __future__ import annotations

import argparse
import ast
import datetime
import inspect
import itertools
import sys
import textwrap
import types
import typing
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import annotated_types
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from watcher import config
from watcher.durations import parse_duration
from watcher.model import SERVICES
from watcher.notify import settings as notify_settings
from watcher.services import adapter_for

BEGIN = "<!-- BEGIN GENERATED CONFIG REFERENCE: python -m watcher.docgen --write FILE -->"
END = "<!-- END GENERATED CONFIG REFERENCE -->"

# (table, model, env prefix or None when the table is an array that only the file can set)
_TABLES: tuple[tuple[str, type[BaseModel], str | None], ...] = (
    ("watcher", config.WatcherSettings, "JOBWATCH_WATCHER__"),
    ("aws", config.AwsSettings, "JOBWATCH_AWS__"),
    ("services.<service>", config.ServiceSettings, "JOBWATCH_SERVICES__<SERVICE>__"),
    ("api", config.ApiSettings, "JOBWATCH_API__"),
    ("notify", notify_settings.NotifySettings, "JOBWATCH_NOTIFY__"),
    ("[channels]", notify_settings.ChannelConfig, None),
    ("[routes]", notify_settings.RouteConfig, None),
    ("routes.when", notify_settings.Match, None),
    ("[mutes]", notify_settings.MuteConfig, None),
    ("[jobs]", config.JobConfig, None),
    ("[discover]", config.DiscoverConfig, None),
)


def attribute_docs(model: type[BaseModel]) -> dict[str, str]:
    """Docstrings written under fields (``x: int = 1`` then ``\"\"\"...\"\"\"``), by field name, base classes first."""
    docs: dict[str, str] = {}
    for klass in reversed(model.__mro__):
        if not (isinstance(klass, type) and issubclass(klass, BaseModel)) or klass is BaseModel:
            continue
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(klass)))
        except (OSError, TypeError):
            continue
        body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
        for node, following in itertools.pairwise(body):
            if (
                isinstance(node, ast.AnnAssign)
                and isinstance(node.target, ast.Name)
                and isinstance(following, ast.Expr)
                and isinstance(following.value, ast.Constant)
                and isinstance(following.value.value, str)
            ):
                docs[node.target.id] = " ".join(following.value.value.split())
    return docs


def _is_duration(metadata: Sequence[Any]) -> bool:
    return any(getattr(m, "func", None) is parse_duration for m in metadata)


def type_name(annotation: Any, metadata: Sequence[Any] = ()) -> str:
    """A reader's name for a field's type: duration, integer (>= 1), one of ..., list of strings, ..."""
    if typing.get_origin(annotation) is typing.Annotated:
        inner, *extra = typing.get_args(annotation)
        return type_name(inner, [*metadata, *extra])
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        rest = [a for a in args if a is not type(None)]
        return " or ".join(type_name(a, metadata) for a in rest)
    if _is_duration(metadata):
        return "duration"
    bounds = [
        f"{symbol} {_number(getattr(m, attr))}"
        for m in metadata
        for attr, symbol, kind in (
            ("ge", ">=", annotated_types.Ge),
            ("gt", ">", annotated_types.Gt),
            ("le", "<=", annotated_types.Le),
            ("lt", "<", annotated_types.Lt),
        )
        if isinstance(m, kind)
    ]
    suffix = f" ({', '.join(bounds)})" if bounds else ""
    if origin is typing.Literal:
        return "one of " + ", ".join(f"`{a}`" for a in args)
    if origin is list:
        item = type_name(args[0]) if args else "value"
        listify = any(getattr(m, "func", None) is notify_settings._listify for m in metadata)
        return f"{item} or list of {item}s" if listify else f"list of {item}s"
    if origin is dict:
        return "table"
    names = {bool: "boolean", int: "integer", float: "number", str: "string", datetime.datetime: "date-time"}
    if annotation in names:
        return names[annotation] + suffix
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "table"
    return str(annotation)


def _number(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _duration_text(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{_number(seconds)}s"


def default_text(field: FieldInfo) -> str:
    """The default as a TOML value, or "required" / "unset"."""
    if field.default_factory is not None:
        value = field.default_factory()  # type: ignore[call-arg]
    elif field.default is PydanticUndefined:
        return "required"
    else:
        value = field.default
    if value is None:
        return "unset"
    if isinstance(value, BaseModel):
        return "`{}`"
    if isinstance(value, bool):
        return "`true`" if value else "`false`"
    if isinstance(value, float) and _is_duration(field.metadata):
        return f'`"{_duration_text(value)}"`'
    if isinstance(value, str):
        return f'`"{value}"`'
    if isinstance(value, list):
        return "`[" + ", ".join(f'"{v}"' for v in value) + "]`"
    return f"`{_number(value)}`"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _table(model: type[BaseModel], env_prefix: str | None) -> list[str]:
    docs = attribute_docs(model)
    described = {name: field.description or docs.get(name, "") for name, field in model.model_fields.items()}
    # a model whose fields carry no text of their own is described by its docstring: no empty column
    columns = ["key", "type", "default"] + (["description"] if any(described.values()) else [])
    if env_prefix:
        columns.append("environment")
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for name, field in model.model_fields.items():
        row = [f"`{field.alias or name}`", type_name(field.annotation, field.metadata), default_text(field)]
        if "description" in columns:
            row.append(described[name])
        if env_prefix:
            row.append(f"`{env_prefix}{name.upper()}`")
        lines.append("| " + " | ".join(_cell(c) for c in row) + " |")
    return lines


def _doc(model: type[BaseModel]) -> str:
    return inspect.cleandoc(model.__doc__ or "")


def _services() -> list[str]:
    lines = [
        "### Job keys per service",
        "",
        "A `[[jobs]]` entry gives `service` and the read call's identity keys; a `[[discover]]` rule gives the",
        "list/search call's keys. Both are checked against the service's model when the config is read.",
        "",
        "| service | read call | identity keys | discovery call | discovery keys |",
        "|---|---|---|---|---|",
    ]
    for service in SERVICES:
        adapter = adapter_for(service)
        fields = getattr(adapter, "fields", ())
        looks = {f.name: f.looks_like for f in fields}
        identity = "<br>".join(f"`{n}`: {looks[n]}" if n in looks else f"`{n}`" for n in adapter.identity)
        found = adapter.discovery
        if found is None:
            call, keys = "none", ""
        else:
            call = f"`{found.operation}`"
            keys = ", ".join([*(f"`{k}` (required)" for k in found.required), *(f"`{k}`" for k in found.optional)])
        row = [service, f"`{adapter.operation}`", identity, call, keys or "(none)"]
        lines.append("| " + " | ".join(_cell(c) for c in row) + " |")
    return lines


def reference() -> str:
    """The whole configuration reference as Markdown (without the markers)."""
    out = [
        'Durations are written `"30s"`, `"5m"`, `"1h30m"`, `"2d"` or as a number of seconds. Any string',
        "may use `${VAR}` or `${VAR:-default}`, expanded from the environment when the config is read (an unset",
        "variable without a default is an error). A scalar or list key of a table can be overridden by the",
        "variable in the *environment* column (`__` separates levels; the value is read as TOML when it parses,",
        'for example `10`, `true` or `["ops"]`, else as a string). Arrays of tables (`[[channels]]`, `[[routes]]`,',
        "`[[mutes]]`, `[[jobs]]`, `[[discover]]`) are set in the file only. The AWS SDK's own variables",
        "(`AWS_PROFILE`, `AWS_REGION`, `AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_<SERVICE>`, web identity and",
        "container credentials) are read by the SDK as usual; jobwatch does not interpret them.",
        "",
    ]
    for table, model, env_prefix in _TABLES:
        title = f"[[{table[1:-1]}]]" if table.startswith("[") else f"[{table}]"
        if table == "routes.when":
            title = "routes `when` (and the keys a mute matches on)"
        out += [f"### `{title}`" if not title.startswith("routes") else f"### {title}", "", _doc(model), ""]
        if table == "services.<service>":
            out += [f"`<service>` is one of {', '.join(f'`{s}`' for s in SERVICES)}.", ""]
        out += [*_table(model, env_prefix), ""]
    out += _services()
    out += _template_fields()
    return "\n".join(out).rstrip() + "\n"


def _template_fields() -> list[str]:
    """The fields a channel's ``title``/``body`` template sees (from the renderer's own list)."""
    from watcher.notify.render import FIELDS

    lines = [
        "",
        "### Template fields",
        "",
        "A channel's `title` and `body` are Jinja2 templates (sandboxed). Untrusted values are escaped for the",
        "channel's format when printed and cut to `notify.field_max_length`; `link(url, text)` writes a link.",
        "",
        "| field | what it holds |",
        "|---|---|",
    ]
    lines += [f"| `{name}` | {_cell(text)} |" for name, text in FIELDS.items()]
    return lines


def replace_block(document: str, block: str) -> str:
    """``document`` with the text between the markers replaced by ``block``; ValueError without markers."""
    start, end = document.find(BEGIN), document.find(END)
    if start < 0 or end < start:
        raise ValueError(f"the markers are missing; add the lines\n{BEGIN}\n{END}\nwhere the reference goes")
    return document[: start + len(BEGIN)] + "\n" + block + document[end:]


def main(argv: Sequence[str] | None = None) -> int:
    """Print, write into a file, or check the configuration reference."""
    parser = argparse.ArgumentParser(prog="python -m watcher.docgen", description=__doc__.split("\n", 1)[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--write", metavar="FILE", help="replace the generated part of FILE")
    group.add_argument("--check", metavar="FILE", help="exit 1 when the generated part of FILE is out of date")
    args = parser.parse_args(argv)
    block = reference()
    if not (args.write or args.check):
        sys.stdout.write(block)
        return 0
    path = Path(args.write or args.check)
    try:
        current = path.read_text(encoding="utf-8")
        wanted = replace_block(current, block)
    except (OSError, ValueError) as exc:
        print(f"docgen: {path}: {exc}", file=sys.stderr)
        return 2
    if args.write:
        if wanted != current:
            path.write_text(wanted, encoding="utf-8")
        return 0
    if wanted != current:
        print(f"docgen: {path} is out of date; run `python -m watcher.docgen --write {path}`", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
