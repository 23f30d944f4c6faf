"""Every example in every ``--help`` works when pasted from the checkout: it parses (global
options before or after the command), and every file it reads exists."""

from __future__ import annotations

import argparse
import re
import shlex
from pathlib import Path

import pytest

from pipeline.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
# arguments that name a file the command writes, not one it reads
WRITTEN = {"--png", "--image", "--log-file", "--out", "--database"}


def _parsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    found = [parser]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):
                found.extend(_parsers(sub))
    return found


def _examples() -> list[str]:
    lines = []
    for parser in _parsers(build_parser()):
        epilog = parser.epilog or ""
        for line in epilog.splitlines():
            line = line.split("  #")[0].strip()
            if line.startswith("kennzeichen-checkin "):
                lines.append(line)
    return sorted(set(lines))


def _read_files(argv: list[str]) -> list[str]:
    files = []
    for before, arg in zip(["", *argv], argv, strict=False):
        if before in WRITTEN or before == ">" or arg.startswith("-") or "://" in arg:
            continue
        if re.search(r"\.(csv|jpe?g|png|toml|mp4)$", arg) or arg.startswith(
                ("sample_frames", "config/", "../shared")):
            files.append(arg)
    return files


EXAMPLES = _examples()


def test_every_command_has_examples() -> None:
    assert len(EXAMPLES) >= 25


@pytest.mark.parametrize("example", EXAMPLES)
def test_example_parses_and_its_files_exist(example: str) -> None:
    argv = shlex.split(example)[1:]
    if ">" in argv:  # a shell redirection is the shell's, not ours
        argv = argv[:argv.index(">")]
    try:
        build_parser().parse_args(argv)
    except SystemExit as exc:
        pytest.fail(f"{example!r} does not parse (exit {exc.code})")
    for name in _read_files(argv):
        if name.startswith("../shared") and not (ROOT / name).exists():
            continue  # evaluation data beside the checkout, where it is
        assert (ROOT / name).exists(), f"{example!r} names {name}, which does not exist"


def test_global_options_work_before_and_after_the_command() -> None:
    parser = build_parser()
    after = parser.parse_args(["accounts", "list", "--config", "a.toml", "--database", "x.db",
                               "-v"])
    before = parser.parse_args(["--config", "a.toml", "--database", "x.db", "-v",
                                "accounts", "list"])
    for args in (after, before):
        assert (args.config, args.database, args.verbose) == (Path("a.toml"), "x.db", True)
    # given before the command, not reset by the command's own defaults
    neither = parser.parse_args(["--database", "y.db", "reads", "list"])
    assert neither.database == "y.db" and neither.config is None and neither.verbose is False


def test_every_option_says_what_it_does() -> None:
    """Issue 23: '--json' had no help text on several commands."""
    silent = [f"{parser.prog} {'/'.join(action.option_strings)}"
              for parser in _parsers(build_parser()) for action in parser._actions
              if action.option_strings and not action.help]
    assert silent == []
