"""Run a Dockerfile's steps without Docker, under a temporary root: what CI can check of the image.

The builder stage's RUN lines run as they are (``sh -c``), with the context's files copied in as COPY says
(filtered by .dockerignore) and ARG/ENV set; absolute paths (WORKDIR, COPY targets, the install ``PREFIX``)
are moved under the root. The runtime stage's COPY and ENV are replayed the same way; its RUN lines
(creating the system user) need root inside an image and are not run.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dockerparse as dp


class BuildError(RuntimeError):
    """A step failed; the message names the Dockerfile line and carries the output."""


@dataclass
class ImageRoot:
    """The outcome: the root folder and the runtime stage's environment with its paths under the root."""

    root: Path
    env: dict[str, str]
    entrypoint: list[str]
    cmd: list[str]

    def path(self, absolute: str) -> Path:
        """Where an absolute path of the image lies under the root."""
        return self.root / absolute.lstrip("/")


def context_files(context: Path, rules: list[tuple[bool, re.Pattern[str]]]) -> Iterator[str]:
    """Every file of the build context that .dockerignore lets through, as a relative slash path."""
    for folder, dirs, files in os.walk(context):
        rel_folder = os.path.relpath(folder, context)
        # .git and virtualenvs are large; they are ignored anyway when the rules say so
        dirs[:] = [d for d in dirs if not dp.ignored(os.path.normpath(os.path.join(rel_folder, d)), rules)]
        for name in files:
            rel = os.path.normpath(os.path.join(rel_folder, name)).replace(os.sep, "/")
            if not dp.ignored(rel, rules):
                yield rel


def _copy(
    instruction: dp.Instruction, variables: dict[str, str], context: Path, allowed: set[str], root: Path, workdir: Path
) -> None:
    words = shlex.split(dp.expand(instruction.args, variables))
    *sources, dest = words
    if not sources:
        raise BuildError(f"line {instruction.line}: COPY needs a source and a destination")
    target = root / dest.lstrip("/") if dest.startswith("/") else workdir / dest
    into_folder = dest.endswith("/") or len(sources) > 1
    for source in sources:
        source = source.strip("/").removeprefix("./") or "."
        matched = sorted(f for f in allowed if f == source or f.startswith(source + "/") or source == ".")
        if not matched:
            raise BuildError(f"line {instruction.line}: COPY {source}: not in the build context (missing or ignored)")
        for rel in matched:
            if rel == source:  # a single file
                out = target / Path(rel).name if into_folder else target
            else:  # a folder's contents go into the target
                out = target / Path(rel).relative_to(source if source != "." else "")
            out.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(context / rel, out)


def _under_root(value: str, root: Path, absolute_paths: tuple[str, ...]) -> str:
    """Move the image's absolute paths in an environment value under the root (PATH lists too)."""
    parts = []
    for part in value.split(":"):
        if part.startswith(absolute_paths) and not part.startswith(str(root)):
            part = str(root / part.lstrip("/"))
        parts.append(part)
    return ":".join(parts)


def build(dockerfile: Path, context: Path, root: Path, python: str, *, host_env: dict[str, str]) -> ImageRoot:
    """Run the builder stage and replay the runtime stage under ``root``; BuildError on a failed step."""
    global_args, stages = dp.stages(dockerfile.read_text())
    rules = dp.ignore_rules((context / ".dockerignore").read_text())
    allowed = set(context_files(context, rules))
    bindir = root / "usr/local/bin"
    bindir.mkdir(parents=True)
    (bindir / "python").symlink_to(python)  # the base image's `python`
    overrides = {"PREFIX": str(root / "opt/jobwatch")}
    named: dict[str, Path] = {}
    for index, stage in enumerate(stages):
        final = index == len(stages) - 1
        variables: dict[str, str] = {}
        workdir = root
        for instruction in stage.instructions:
            keyword = instruction.keyword
            if keyword == "ARG":
                for key, value in dp.assignments(instruction.args).items():
                    variables[key] = overrides.get(key, dp.expand(value or global_args.get(key, ""), variables))
            elif keyword == "ENV":
                before = dict(variables)
                for key, value in dp.assignments(instruction.args).items():
                    variables[key] = dp.expand(value, before)
            elif keyword == "WORKDIR":
                workdir = root / dp.expand(instruction.args, variables).lstrip("/")
                workdir.mkdir(parents=True, exist_ok=True)
            elif keyword == "COPY" and "from" in instruction.flags:
                src, dest = shlex.split(dp.expand(instruction.args, variables))
                if instruction.flags["from"] not in named or Path(src) != Path(dest):
                    raise BuildError(f"line {instruction.line}: only COPY --from=<stage> X X (same path) is replayed")
            elif keyword == "COPY":
                _copy(instruction, variables, context, allowed, root, workdir)
            elif keyword == "RUN" and not final:
                env = {**host_env, **variables, "PATH": f"{bindir}:{host_env.get('PATH', '/usr/bin:/bin')}"}
                done = subprocess.run(
                    ["sh", "-c", instruction.args], cwd=workdir, env=env, capture_output=True, text=True, check=False
                )
                if done.returncode != 0:
                    raise BuildError(
                        f"line {instruction.line}: RUN exited {done.returncode}\n{done.stdout[-3000:]}\n"
                        f"{done.stderr[-3000:]}"
                    )
            elif keyword == "VOLUME":
                for folder in dp.exec_form(instruction.args) or instruction.args.split():
                    (root / dp.expand(folder, variables).lstrip("/")).mkdir(parents=True, exist_ok=True)
            elif keyword in ("RUN", "LABEL", "EXPOSE", "USER", "HEALTHCHECK", "STOPSIGNAL", "ENTRYPOINT", "CMD"):
                continue  # metadata, or (RUN in the runtime stage) needs root inside the image
            else:
                raise BuildError(f"line {instruction.line}: {keyword} is not replayed by this helper")
        if stage.name:
            named[stage.name] = root
        if final:
            # PREFIX is already under the root (a build argument); config and state paths are moved
            env = {key: _under_root(value, root, ("/etc/", "/var/")) for key, value in variables.items()}
            env["PATH"] = env["PATH"].rstrip(":") + ":" + host_env.get("PATH", "/usr/bin:/bin")
            entrypoint = (stage.last("ENTRYPOINT") or dp.Instruction("ENTRYPOINT", "[]")).exec_form or []
            cmd = (stage.last("CMD") or dp.Instruction("CMD", "[]")).exec_form or []
            return ImageRoot(root, env, entrypoint, cmd)
    raise BuildError("the Dockerfile has no stage")
