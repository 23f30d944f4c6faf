"""Command line: ``kennzeichen-checkin <command>``; every command's ``--help`` has an example."""

from __future__ import annotations

import argparse
import gc
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pipeline import __version__
from pipeline.config import ConfigError, Settings, check_settings, load_settings
from pipeline.domain import Status
from pipeline.terminal import UserError

log = logging.getLogger("kennzeichen-checkin")

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SAMPLE_FRAMES = PROJECT_ROOT / "sample_frames"
SAMPLE_CONFIG = PROJECT_ROOT / "config" / "sample-frames.toml"


def _formatter(prog: str) -> argparse.HelpFormatter:
    return argparse.RawDescriptionHelpFormatter(prog, max_help_position=32)


def _global_options(parser: argparse.ArgumentParser, *, after_command: bool) -> None:
    """The options every command takes, before the command or after it. Given after it,
    they must not reset what was given before it (hence ``SUPPRESS`` defaults there)."""
    default = argparse.SUPPRESS if after_command else None
    parser.add_argument("--config", type=Path, default=default, help="TOML settings file "
                        "(see config/kennzeichen-checkin.example.toml)")
    parser.add_argument("--database", default=default, help="SQLite file, sqlite:///path or "
                        "postgresql://user@host/dbname (overrides the config)")
    parser.add_argument("-v", "--verbose", action="store_true",
                        default=argparse.SUPPRESS if after_command else False,
                        help="debug logging (may show plate text: not for production logs)")
    parser.add_argument("--log-file", type=Path, default=default,
                        help="also write the log to this file")


def _sub(subparsers: Any, name: str, help_text: str, example: str) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(name, help=help_text, description=help_text,
                                   epilog=f"example:\n  {example}", formatter_class=_formatter)
    _global_options(parser, after_command=True)
    return parser


def _version() -> str:
    """The version and the recogniser a run would load (without loading it)."""
    from pipeline.reading.recognisers import DEFAULT_MODELS_DIR, PLATE_MODEL, plate_model_present

    if plate_model_present(DEFAULT_MODELS_DIR):
        return f"%(prog)s {__version__}, recogniser {PLATE_MODEL} from {DEFAULT_MODELS_DIR}"
    return (f"%(prog)s {__version__}, recogniser english_g2 (stock: the German model is "
            f"missing from {DEFAULT_MODELS_DIR})")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kennzeichen-checkin", formatter_class=_formatter,
        description="Licence-plate check-in for a drive-in: reads the plates of arriving cars, "
                    "matches them to pre-registered customer accounts and publishes arrival "
                    "events over MQTT.",
        epilog="examples:\n"
               "  kennzeichen-checkin demo                    # sample frames, local broker\n"
               "  kennzeichen-checkin accounts import config/accounts.example.csv\n"
               "  kennzeichen-checkin --config config/sample-frames.toml run "
               "--source sample_frames --local-broker\n"
               "  kennzeichen-checkin read sample_frames/frame_0002.jpg --json")
    parser.add_argument("--version", action="version", version=_version())
    _global_options(parser, after_command=False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    for add in (_add_reading_commands, _add_account_commands, _add_privacy_commands,
                _add_operator_commands, _add_setup_commands):
        add(sub)
    from pipeline.commands.queue import add_parsers as add_queue_parsers

    add_queue_parsers(sub, _sub)  # queue run|show, served, display, stats
    return parser



def _add_reading_commands(sub: Any) -> None:
    """Run, read, eval: plates from a source, from still images, on labelled folders."""
    run = _sub(sub, "run", "Read plates from a camera, video or folder and publish arrivals.",
               "kennzeichen-checkin run --source sample_frames --config config/sample-frames.toml "
               "--local-broker")
    run.add_argument("--source", required=True,
                     help="folder of images, video file, camera index (0) or stream URL")
    run.add_argument("--json", action="store_true",
                     help="print a JSON summary at the end (counts of every arrival, the "
                          "events themselves for the last 10,000)")
    run.add_argument("--restart", action="store_true",
                     help="read a folder or file from the start even if an earlier run got "
                          "through it (normally a run resumes where the last one stopped)")
    run.add_argument("--local-broker", action="store_true",
                     help="start a throw-away broker on loopback instead of [mqtt] host/port")

    read = _sub(sub, "read", "Find and read plates in still images (no matching, no publishing).",
                "kennzeichen-checkin read sample_frames/frame_0002.jpg --json")
    read.add_argument("images", nargs="+", type=Path, help="image files")
    read.add_argument("--json", action="store_true", help="JSON list, one object per file")

    ev_ = _sub(sub, "eval", "Measure the reader on labelled folders: detection rate, exact "
               "plates, character error rate, confusions, ms per image.",
               "kennzeichen-checkin eval ../shared/data/plates_eu sample_frames --compare")
    ev_.add_argument("folders", nargs="+", type=Path, help="folders with a labels.csv")
    ev_.add_argument("--labels", type=Path, help="labels CSV (default: FOLDER/labels.csv)")
    ev_.add_argument("--compare", action="store_true",
                     help="stock english_g2 and the German plate model side by side")
    ev_.add_argument("--json", action="store_true", help="the reports as JSON")


def _add_account_commands(sub: Any) -> None:
    """Accounts: the customer base."""
    acc = _sub(sub, "accounts", "Manage the pre-registered customer accounts.",
               "kennzeichen-checkin accounts import config/accounts.example.csv")
    acc_sub = acc.add_subparsers(dest="accounts_command", metavar="ACTION", required=True)
    imp = _sub(acc_sub, "import", "Import accounts from CSV, all or nothing.",
               "kennzeichen-checkin accounts import config/accounts.example.csv")
    imp.add_argument("file", type=Path, help="CSV: customer_number,display_name,plate,"
                     "visit_reason (one row per plate)")
    imp.add_argument("--replace", action="store_true",
                     help="the file becomes the whole account list (others are removed)")
    imp.add_argument("--json", action="store_true", help="what was imported, as JSON")
    lst = _sub(acc_sub, "list", "List accounts and their plates.",
               "kennzeichen-checkin accounts list --json")
    lst.add_argument("--json", action="store_true", help="the accounts as JSON")
    add = _sub(acc_sub, "add", "Add an account, or update only what is given of an existing "
               "one (plates are added, never removed: see remove-plate).",
               "kennzeichen-checkin accounts add 10001 --name 'Anna Schmidt' --plate 'OF-AB 123'\n"
               "  kennzeichen-checkin accounts add 10001 --reason Tarifberatung")
    add.add_argument("customer_number")
    add.add_argument("--name", help="display name shown at the service window (needed for a "
                     "new customer)")
    add.add_argument("--plate", action="append", default=[],
                     help="plate as written on it, e.g. 'OF-AB 123' (repeat for a second car; "
                          "a new customer needs one)")
    add.add_argument("--reason", help="visit reason, e.g. Jahresabrechnung ('' clears it)")
    add.add_argument("--json", action="store_true", help="the account afterwards, as JSON")
    rem = _sub(acc_sub, "remove", "Remove an account and its plates.",
               "kennzeichen-checkin accounts remove 10001")
    rem.add_argument("customer_number")
    rem.add_argument("--json", action="store_true", help="what was removed, as JSON")
    remp = _sub(acc_sub, "remove-plate", "Take one plate off its customer (the account stays).",
                "kennzeichen-checkin accounts remove-plate 'OF-E 2345E'")
    remp.add_argument("plate", help="plate as written on it")
    remp.add_argument("--json", action="store_true", help="what was removed, as JSON")
    exp = _sub(acc_sub, "export", "Everything stored about one customer, as JSON "
               "(GDPR right of access).", "kennzeichen-checkin accounts export 10001 > 10001.json")
    exp.add_argument("customer_number")
    forget = _sub(acc_sub, "forget", "Erase a customer: account, plates, reads and events not "
                  "yet delivered (GDPR right to erasure).",
                  "kennzeichen-checkin accounts forget 10001 --yes")
    forget.add_argument("customer_number")
    forget.add_argument("--yes", action="store_true", help="do it (without: show what would go)")
    forget.add_argument("--json", action="store_true", help="what was (or would be) erased, "
                        "as JSON")


def _add_privacy_commands(sub: Any) -> None:
    """Purge, campaign close: what deletes, each showing what would go unless given --yes
    (as accounts forget)."""
    purge = _sub(sub, "purge", "Apply the retention rules now ([privacy] in the config): "
                 "without --yes only show what would go. 'run' purges by itself every "
                 "purge_interval_s.",
                 "kennzeichen-checkin --config config/sample-frames.toml purge\n"
                 "  kennzeichen-checkin --config config/sample-frames.toml purge --yes")
    purge.add_argument("--yes", action="store_true", help="delete now (without: show what "
                       "would go)")
    purge.add_argument("--dry-run", action="store_true",
                       help="only show what would go: the default (kept for older scripts)")
    purge.add_argument("--json", action="store_true", help="the counts as JSON")

    camp = _sub(sub, "campaign", "End of the drive-in campaign.",
                "kennzeichen-checkin campaign close --yes")
    camp_sub = camp.add_subparsers(dest="campaign_command", metavar="ACTION", required=True)
    close = _sub(camp_sub, "close", "Delete all plate data, accounts, pseudonym key and "
                 "undelivered events; keep only anonymous arrival statistics. Without --yes "
                 "only show what would go.",
                 "kennzeichen-checkin --config config/sample-frames.toml campaign close\n"
                 "  kennzeichen-checkin --config config/sample-frames.toml campaign close --yes")
    close.add_argument("--yes", action="store_true", help="really delete (cannot be undone; "
                       "without: show what would go)")
    close.add_argument("--json", action="store_true", help="what was (or would be) deleted, "
                       "as JSON")


def _add_reads_commands(sub: Any) -> None:
    """reads list|show|correct|assign|dismiss|undo|arrive|audit."""
    reads = _sub(sub, "reads", "The operator's view of the passages: list them and fix "
                 "misreads (each fix publishes a correction event and is audited).",
                 "kennzeichen-checkin reads list --since 10m --status needs_review")
    reads.add_argument("--operator", help="name for the audit log (default: "
                       "$KENNZEICHEN_OPERATOR or $USER)")
    reads_sub = reads.add_subparsers(dest="reads_command", metavar="ACTION", required=True)
    rlist = _sub(reads_sub, "list", "Passages, newest first.",
                 "kennzeichen-checkin reads list --since 30m --status needs_review --json")
    rlist.add_argument("--since", default="12h", help="how far back: 90s, 10m, 2h, 1d "
                       "(default 12h)")
    rlist.add_argument("--status", choices=[s.value for s in Status],
                       help="only reads with this status")
    rlist.add_argument("--with-evidence", action="store_true",
                       help="only reads with a kept plate crop (needs review, undecided)")
    rlist.add_argument("--json", action="store_true", help="the reads as JSON (times UTC)")
    show = _sub(reads_sub, "show", "One read, with the plate crop kept for deciding it (drawn "
                "in the terminal).",
                "kennzeichen-checkin reads show 3f9a1c2b4d5e --image crop.jpg")
    show.add_argument("read_id")
    show.add_argument("--image", type=Path, help="write the best kept crop to this file "
                      "(.jpg as kept, .png re-encoded)")
    show.add_argument("--json", action="store_true",
                      help="the read and how many crops are kept, as JSON (times UTC)")
    for name, text, example in (
            ("correct", "Set the right plate; it is matched again.",
             "kennzeichen-checkin reads correct 3f9a1c2b4d5e --plate 'OF-AB 123'"),
            ("assign", "Check the car in for a customer.",
             "kennzeichen-checkin reads assign 3f9a1c2b4d5e --customer 10001"),
            ("dismiss", "Not a customer's car: withdraw the arrival.",
             "kennzeichen-checkin reads dismiss 3f9a1c2b4d5e"),
            ("undo", "Restore a read as it was before its last correction.",
             "kennzeichen-checkin reads undo 3f9a1c2b4d5e")):
        action = _sub(reads_sub, name, text, example)
        action.add_argument("read_id")
        if name == "correct":
            action.add_argument("--plate", required=True, help="as on the plate: 'OF-AB 123'")
        if name == "assign":
            action.add_argument("--customer", required=True, help="customer number")
        if name != "undo":
            action.add_argument("--force", action="store_true",
                                help="change a read that was already corrected")
        action.add_argument("--json", action="store_true",
                            help="the read afterwards and the correction event, as JSON")
    arrive = _sub(reads_sub, "arrive", "A car the camera did not announce (its plate "
                  "unreadable, the camera down): announce its arrival by hand, from camera "
                  "'operator', audited. The plate is matched exactly; --customer checks in "
                  "that customer whatever the plate.",
                  "kennzeichen-checkin reads arrive --plate 'OF-AB 123'\n"
                  "  kennzeichen-checkin reads arrive --customer 10001")
    arrive.add_argument("--plate", help="as on the plate: 'OF-AB 123'")
    arrive.add_argument("--customer", help="customer number (asked at the window)")
    arrive.add_argument("--force", action="store_true",
                        help="announce a customer checked in within [tracking] dedup_s again")
    arrive.add_argument("--json", action="store_true",
                        help="the stored read and the arrival event, as JSON")
    audit = _sub(reads_sub, "audit", "The audit log of operator actions.",
                 "kennzeichen-checkin reads audit --json")
    audit.add_argument("read_id", nargs="?")
    audit.add_argument("--json", action="store_true", help="the entries as JSON (times UTC)")


def _add_operator_commands(sub: Any) -> None:
    """Reads, console, events: the operator's view and the broker's."""
    _add_reads_commands(sub)
    con = _sub(sub, "console", "Live terminal view of the passages for the operator at the "
               "entrance (80x24, works over SSH). Keys: c correct plate, a assign account, "
               "d dismiss, u undo, n new arrival (a car the camera missed), q quit.",
               "kennzeichen-checkin --config config/sample-frames.toml console")
    con.add_argument("--operator", help="name for the audit log (default: "
                     "$KENNZEICHEN_OPERATOR or $USER)")

    ev = _sub(sub, "events", "Watch the events on the broker.",
              "kennzeichen-checkin events tail --json")
    ev_sub = ev.add_subparsers(dest="events_command", metavar="ACTION", required=True)
    tail = _sub(ev_sub, "tail", "Subscribe and print arrivals as they come (Ctrl-C ends).",
                "kennzeichen-checkin --config config/sample-frames.toml events tail")
    tail.add_argument("--json", action="store_true", help="one JSON object per line")
    tail.add_argument("--count", type=int, default=0, help="stop after N events (0: never)")


def _add_setup_commands(sub: Any) -> None:
    """Demo, doctor, config: trying and checking an installation."""
    demo = _sub(sub, "demo", "Run the whole pipeline on the bundled sample frames: a fresh "
                "SQLite file with the sample accounts, a broker on loopback, and a subscriber "
                "that prints each arrival.", "kennzeichen-checkin demo")
    demo.add_argument("--source", type=Path, default=SAMPLE_FRAMES, help="folder of frames")
    demo.add_argument("--workdir", type=Path, default=Path("data/demo"),
                      help="where the demo database goes (recreated each run)")

    doctor = _sub(sub, "doctor", "Check that this installation will work: model, broker "
                  "(login, TLS, publish), camera, database, pseudonym key, clock, disk; each "
                  "failure says what to do. Exit 0 only when all pass.",
                  "kennzeichen-checkin --config config/sample-frames.toml doctor "
                  "--source sample_frames")
    doctor.add_argument("--source", help="camera to try (as for run --source); without it the "
                        "camera is not checked")
    doctor.add_argument("--json", action="store_true", help="every check as JSON")

    config = _sub(sub, "config", "Print the settings in effect (defaults, then --config, then "
                  "the environment) as TOML with every key explained; --example: the built-in "
                  "defaults, a file to start a site's config from.",
                  "kennzeichen-checkin --config config/sample-frames.toml config\n"
                  "  kennzeichen-checkin config --example > site.toml")
    config.add_argument("--example", action="store_true",
                        help="the built-in defaults (config/kennzeichen-checkin.example.toml)")
    config.add_argument("--json", action="store_true", help="the values as JSON, no comments")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _configure_logging(args.verbose, args.log_file)
    for noisy in ("easyocr", "PIL", "amqtt", "transitions", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        config = args.config
        if config is None and args.command == "demo" and SAMPLE_CONFIG.is_file():
            config = SAMPLE_CONFIG
        settings = load_settings(config)
        if args.database:
            import dataclasses
            settings = dataclasses.replace(settings, database=args.database)
            check_settings(settings)
        code = _dispatch(args, settings)
        # the models' millions of objects need no cycle collection at exit: it took 1.3 s
        # of every stop (SIGTERM) after the outbox was flushed
        gc.freeze()
        return code
    except (UserError, ConfigError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `... | head`: the reader has all it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _configure_logging(verbose: bool, log_file: Path | None) -> None:
    """Our handlers on the root logger, replacing those of an earlier call in this process
    and leaving everyone else's (a test's log capture, say) in place."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "_kennzeichen", False)]:
        root.removeHandler(handler)
        handler.close()
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_file, encoding="utf-8"))
    formatter = logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    for handler in handlers:
        handler.setFormatter(formatter)
        handler._kennzeichen = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)


def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline import commands

    handlers = {
        "run": commands.cmd_run,
        "read": commands.cmd_read,
        "accounts": commands.cmd_accounts,
        "events": commands.cmd_events,
        "demo": commands.cmd_demo,
        "purge": commands.cmd_purge,
        "eval": commands.cmd_eval,
        "reads": commands.cmd_reads,
        "console": commands.cmd_console,
        "campaign": commands.cmd_campaign,
        "doctor": commands.cmd_doctor,
        "config": commands.cmd_config,
    }
    from pipeline.commands.queue import HANDLERS as QUEUE_HANDLERS

    handlers.update(QUEUE_HANDLERS)
    return handlers[args.command](args, settings)
