"""A small Dockerfile reader for the tests: instructions, stages, flags, exec form and variable expansion.

It follows the Dockerfile reference where the tests depend on it: parser directives only before the first
instruction, ``#`` comments only at the start of a line (also inside a continued instruction), ``\\`` line
continuation, ``--flag=value`` options before the arguments, JSON arrays for the exec form, and ``${VAR}``
/ ``$VAR`` expansion from ARG and ENV in the instructions that expand variables.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field

_FLAG = re.compile(r"--([a-z-]+)(?:=(\S*))?")
_VAR = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")
# instructions whose arguments Docker expands ${VAR} in (RUN/CMD/ENTRYPOINT are left to the shell)
EXPANDS = {"ADD", "COPY", "ENV", "EXPOSE", "FROM", "LABEL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR", "ARG"}
_FLAGGED = {"ADD", "COPY", "RUN", "FROM", "HEALTHCHECK"}


class DockerfileError(ValueError):
    """The text is not a Dockerfile this reader understands (with the line it stopped at)."""


@dataclass(frozen=True)
class Instruction:
    """One instruction: upper-case keyword, its ``--flags``, the argument text after them, its first line."""

    keyword: str
    args: str
    flags: dict[str, str] = field(default_factory=dict)
    line: int = 0

    @property
    def exec_form(self) -> list[str] | None:
        """The JSON-array (exec) form's words, or None when the arguments are in shell form."""
        return exec_form(self.args)


@dataclass
class Stage:
    """The instructions from one FROM to the next."""

    base: str
    name: str | None
    instructions: list[Instruction]

    def all(self, keyword: str) -> list[Instruction]:
        """Every instruction of this kind in the stage, in order."""
        return [i for i in self.instructions if i.keyword == keyword]

    def last(self, keyword: str) -> Instruction | None:
        """The one that counts for single-valued instructions (USER, CMD, ENTRYPOINT, HEALTHCHECK...)."""
        found = self.all(keyword)
        return found[-1] if found else None


def exec_form(args: str) -> list[str] | None:
    """``["a", "b"]`` -> ["a", "b"]; shell form (or a malformed array, which Docker runs as shell) -> None."""
    text = args.strip()
    if not text.startswith("["):
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return None
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    return None


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """Join continued lines; drop comments and blank lines. Returns (first line number, text)."""
    out: list[tuple[int, str]] = []
    pending: list[str] = []
    start = 0
    seen_instruction = False
    for number, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if stripped.startswith("#"):
            directive = not seen_instruction and not pending and re.match(r"#\s*escape\s*=", stripped)
            if directive and "`" in stripped:
                raise DockerfileError(f"line {number}: only the default escape character \\ is supported")
            continue
        if not stripped:
            continue  # blank lines, also inside a continuation, are dropped
        if not pending:
            start = number
        if raw.rstrip().endswith("\\"):
            pending.append(raw.rstrip()[:-1])
            continue
        pending.append(raw)
        out.append((start, " ".join(part.strip() for part in pending)))
        seen_instruction = True
        pending = []
    if pending:
        raise DockerfileError(f"line {start}: the file ends inside a continued instruction")
    return out


def parse(text: str) -> list[Instruction]:
    """Every instruction of a Dockerfile, flags split off."""
    instructions = []
    for number, line in _logical_lines(text):
        keyword, _, rest = line.partition(" ")
        keyword = keyword.upper()
        if not re.fullmatch(r"[A-Z]+", keyword):
            raise DockerfileError(f"line {number}: {keyword!r} is not an instruction")
        flags: dict[str, str] = {}
        rest = rest.strip()
        if keyword in _FLAGGED:
            while rest.startswith("--"):
                word, _, rest = rest.partition(" ")
                match = _FLAG.fullmatch(word)
                if match is None:
                    raise DockerfileError(f"line {number}: bad flag {word!r}")
                flags[match.group(1)] = match.group(2) or ""
                rest = rest.strip()
        instructions.append(Instruction(keyword, rest, flags, number))
    return instructions


def expand(text: str, variables: dict[str, str]) -> str:
    """``${VAR}`` and ``$VAR`` from ``variables``; unknown ones become empty, as in Docker."""
    return _VAR.sub(lambda m: variables.get(m.group(1) or m.group(2), ""), text)


def assignments(args: str) -> dict[str, str]:
    """ENV / ARG / LABEL arguments: ``k=v k2="v 2"`` (or the legacy ``ENV k v``) -> a dict."""
    words = shlex.split(args, posix=True)
    if words and "=" not in words[0]:
        if len(words) == 1:  # ARG without a default
            return {words[0]: ""}
        return {words[0]: " ".join(words[1:])}
    result = {}
    for word in words:
        key, sep, value = word.partition("=")
        if not sep:
            raise DockerfileError(f"{word!r} is not key=value")
        result[key] = value
    return result


def stages(text: str) -> tuple[dict[str, str], list[Stage]]:
    """The global ARGs (before the first FROM) and the stages, with FROM's base expanded."""
    global_args: dict[str, str] = {}
    result: list[Stage] = []
    for instruction in parse(text):
        if instruction.keyword == "FROM":
            words = expand(instruction.args, global_args).split()
            name = None
            if len(words) == 3 and words[1].upper() == "AS":
                name = words[2]
            elif len(words) != 1:
                raise DockerfileError(f"line {instruction.line}: FROM takes an image and an optional AS name")
            result.append(Stage(words[0], name, []))
        elif not result:
            if instruction.keyword != "ARG":
                raise DockerfileError(f"line {instruction.line}: only ARG may come before the first FROM")
            global_args.update(assignments(instruction.args))
        else:
            result[-1].instructions.append(instruction)
    return global_args, result


def stage_env(stage: Stage, global_args: dict[str, str], overrides: dict[str, str] | None = None) -> dict[str, str]:
    """The ARG and ENV values a stage ends with (``overrides`` are --build-arg values)."""
    overrides = overrides or {}
    variables: dict[str, str] = {}
    for instruction in stage.instructions:
        if instruction.keyword == "ARG":
            for key, value in assignments(instruction.args).items():
                # an ARG re-declared in a stage takes the global default when it gives none
                default = value if value else global_args.get(key, "")
                variables[key] = overrides.get(key, expand(default, variables))
        elif instruction.keyword == "ENV":
            before = dict(variables)  # every pair of one ENV sees the values from before it
            for key, value in assignments(instruction.args).items():
                variables[key] = expand(value, before)
    return variables


def _ignore_regex(pattern: str) -> re.Pattern[str]:
    """A .dockerignore pattern (Go filepath.Match plus ``**``) as a regex over slash paths."""
    out = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out += "(?:.*/)?"
            i += 3
        elif pattern.startswith("**", i):
            out += ".*"
            i += 2
        elif pattern[i] == "*":
            out += "[^/]*"
            i += 1
        elif pattern[i] == "?":
            out += "[^/]"
            i += 1
        else:
            out += re.escape(pattern[i])
            i += 1
    return re.compile(out)


def ignore_rules(text: str) -> list[tuple[bool, re.Pattern[str]]]:
    """The rules of a .dockerignore: (is an exception ``!``, pattern), in order."""
    rules = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        pattern = line[1:].strip() if negate else line
        pattern = pattern.strip("/").removeprefix("./")
        rules.append((negate, _ignore_regex(pattern)))
    return rules


def ignored(path: str, rules: list[tuple[bool, re.Pattern[str]]]) -> bool:
    """Whether the build context leaves ``path`` out: the last rule matching it (or a parent folder) wins."""
    parts = path.strip("/").split("/")
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    result = False
    for negate, regex in rules:
        if any(regex.fullmatch(prefix) for prefix in prefixes):
            result = not negate
    return result
