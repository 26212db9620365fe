"""The ``jobwatch`` command line. Imports stay inside the commands so ``jobwatch --help`` is quick."""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Sequence

from watcher import __version__

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jobwatch",
        description="Watch long-running AWS jobs (Device Farm, Deadline Cloud, Amplify, IoT, Braket) and notify "
        "on every state change.",
    )
    parser.add_argument("--version", action="version", version=f"jobwatch {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def with_config(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument(
            "-c",
            "--config",
            metavar="PATH",
            help="config file (default: $JOBWATCH_CONFIG, ./jobwatch.toml, /etc/jobwatch/jobwatch.toml)",
        )
        return p

    with_config(sub.add_parser("run", help="run the daemon: watch every job, notify, serve the API"))

    demo = sub.add_parser("demo", help="watch a mix of jobs on the built-in simulator (no AWS account needed)")
    demo.add_argument("--jobs", type=int, default=15, help="simulated jobs (default 15, three per service)")
    demo.add_argument("--seed", type=int, default=7, help="random seed of the simulated lifecycles")
    demo.add_argument("--time-scale", type=float, default=1.0, help="stretch the lifecycles (2 = twice as long)")

    check = with_config(sub.add_parser("check-config", help="validate the config (and every apprise URL); no start"))
    check.add_argument("--print", action="store_true", help="print the effective config, secrets masked")

    lst = with_config(sub.add_parser("list", help="every watched job, its phase, status, last and next poll"))
    lst.add_argument("--json", action="store_true", help="JSON instead of a table")
    lst.add_argument("--all", action="store_true", help="include finished and removed jobs")

    hist = with_config(sub.add_parser("history", help="events and, per channel, whether each was delivered"))
    hist.add_argument("job", nargs="?", help="one job's key (default: all jobs)")
    hist.add_argument("--json", action="store_true", help="JSON instead of text")
    hist.add_argument("--limit", type=int, default=50, help="newest N events (default 50)")

    test = with_config(sub.add_parser("test-notify", help="send a sample notification through each channel"))
    test.add_argument("--channel", help="only this channel")

    add = with_config(sub.add_parser("add", help="watch a job (through the running daemon, else the state file)"))
    add.add_argument("service", help="devicefarm, deadline, amplify, iot or braket")
    add.add_argument("params", nargs="+", metavar="key=value", help="the job's identity, e.g. jobArn=arn:aws:...")
    add.add_argument("--name", help="display name")
    add.add_argument("--tag", action="append", default=[], dest="tags", help="a tag for routing (repeatable)")
    add.add_argument("--interval", help="base poll interval for this job, e.g. 30s")

    rm = with_config(sub.add_parser("remove", help="stop watching a job (its history stays)"))
    rm.add_argument("key", help="the job's key as `jobwatch list` shows it")

    ack = with_config(sub.add_parser("ack", help="acknowledge a stuck or failed job: its reminders stop"))
    ack.add_argument("key", help="the job's key as `jobwatch list --all` shows it")
    ack.add_argument("--comment", help="who and why, kept in the history")

    wait = sub.add_parser("wait", help="watch one job to its end; exit 0 succeeded, 1 failed, 3 cancelled, 4 timeout")
    wait.add_argument("service", help="devicefarm, deadline, amplify, iot or braket")
    wait.add_argument("params", nargs="+", metavar="key=value", help="the job's identity, e.g. jobArn=arn:aws:...")
    wait.add_argument("--interval", default="10s", help="poll interval (default 10s)")
    wait.add_argument("--timeout", help="give up after this long (exit 4), e.g. 2h")
    wait.add_argument("--notify", action="append", default=[], metavar="URL", help="apprise URL to notify (repeatable)")
    wait.add_argument("--json", action="store_true", help="print transitions as JSON lines")
    wait.add_argument("--region", help="AWS region")
    wait.add_argument("--profile", help="AWS profile")
    wait.add_argument("--endpoint-url", help="send calls here (e.g. the simulator)")

    sim = sub.add_parser("simulate", help="serve the AWS simulator (the five services' job APIs) on 127.0.0.1")
    sim.add_argument("--host", default="127.0.0.1")
    sim.add_argument("--port", type=int, default=8811)
    sim.add_argument("--jobs", type=int, default=0, help="seed this many jobs spread over the five services")
    sim.add_argument("--seed", type=int, default=0)
    sim.add_argument("--time-scale", type=float, default=1.0, help="stretch the seeded lifecycles")
    return parser


def _exit_cleanly(signum: int, frame: object) -> None:
    raise SystemExit(EXIT_OK)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``jobwatch`` console script."""
    args = _parser().parse_args(argv)
    command = args.command
    if command == "run":
        # Until the daemon's own handler takes over, a SIGTERM (systemd stop, docker stop) during start-up
        # ends it cleanly: nothing has been polled or owed yet.
        signal.signal(signal.SIGTERM, _exit_cleanly)
    if command == "simulate":
        from watcher.simulator import serve

        serve(host=args.host, port=args.port, jobs=args.jobs, seed=args.seed, time_scale=args.time_scale)
        return EXIT_OK
    if command == "demo":
        from watcher.demo import main as demo_main

        return demo_main(jobs=args.jobs, seed=args.seed, time_scale=args.time_scale)
    if command == "wait":
        from watcher.wait import main as wait_main

        return wait_main(args)
    from watcher import commands

    handler = getattr(commands, command.replace("-", "_"))
    code: int = handler(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
