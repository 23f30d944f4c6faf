"""Commands for the customer accounts and the privacy rules."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable
from typing import Any

from pipeline.assembly import crops_retention, open_store
from pipeline.config import Settings
from pipeline.domain import Account
from pipeline.plate.districts import district_codes
from pipeline.plate.grammar import plate_from_label
from pipeline.privacy.debug_crops import purge_crops
from pipeline.store.accounts_csv import CsvImportError, read_accounts_csv
from pipeline.store.open import describe
from pipeline.store.protocol import PlateConflictError, Store
from pipeline.terminal import UserError, print_json

log = logging.getLogger("kennzeichen-checkin")

# -- accounts -----------------------------------------------------------------------------


def _account_json(acc: Account) -> dict[str, Any]:
    return {"customer_number": acc.customer_number, "display_name": acc.display_name,
            "visit_reason": acc.visit_reason, "plates": list(acc.plate_displays)}


def _import(args: argparse.Namespace, settings: Settings) -> int:
    """All or nothing: every problem of the file, and every plate already registered to
    another customer, named by its line."""
    try:
        file = read_accounts_csv(args.file, district_codes())
    except CsvImportError as exc:
        raise UserError(str(exc)) from exc
    store = open_store(settings)
    try:
        count = store.import_accounts(file.accounts, replace=args.replace)
    except PlateConflictError as exc:
        raise UserError(str(CsvImportError(str(args.file), [
            f"line {file.plate_lines[plate]}: plate {plate} of customer {new} is "
            f"already registered to customer {old}; remove it there first, or import with "
            "--replace to make this file the whole account list"
            for plate, new, old in exc.conflicts]))) from exc
    finally:
        store.close()
    plates = sum(len(a.plates) for a in file.accounts)
    if args.json:
        print_json({"imported_accounts": count, "plates": plates, "encoding": file.encoding,
                    "delimiter": file.delimiter, "database": describe(settings.database),
                    "spaces_removed_on_lines": list(file.trimmed_lines)})
    else:
        print(f"imported {count} accounts with {plates} plates into "
              f"{describe(settings.database)} (read as {file.encoding}, "
              f"'{file.delimiter}'-separated)")
        if file.trimmed_lines:
            lines = ", ".join(map(str, file.trimmed_lines[:20]))
            more = " ..." if len(file.trimmed_lines) > 20 else ""
            print(f"spaces before or after a value were removed on {len(file.trimmed_lines)} "
                  f"line(s): {lines}{more}")
    return 0


def _add(args: argparse.Namespace, store: Store) -> int:
    """Add a customer, or change only what is given of an existing one, and say what
    changed (a visit reason left out is kept, not wiped)."""
    try:
        plates = [plate_from_label(p, district_codes()) for p in args.plate]
    except ValueError as exc:
        raise UserError(str(exc)) from exc
    old = store.account(args.customer_number)
    if old is None and (not args.name or not plates):
        raise UserError(f"customer {args.customer_number} is new: give --name and at least "
                        "one --plate")
    name = args.name or (old.display_name if old else "")
    reason = args.reason if args.reason is not None else (old.visit_reason if old else "")
    new_plates = [p for p in plates if old is None or p.compact not in old.plates]
    acc = Account(args.customer_number, name, tuple(p.compact for p in new_plates), reason,
                  tuple(p.display for p in new_plates))
    try:
        store.import_accounts([acc])
    except PlateConflictError as exc:
        raise UserError(f"{exc}; remove it there first with 'kennzeichen-checkin accounts "
                        "remove-plate'") from exc
    changes = [f"plate {p.display} added" for p in new_plates]
    if old is None:
        changes.insert(0, f"new customer {name!r}")
    else:
        if name != old.display_name:
            changes.append(f"name {old.display_name!r} -> {name!r}")
        if reason != old.visit_reason:
            changes.append(f"visit reason {old.visit_reason!r} -> {reason!r}")
    saved = store.account(args.customer_number)
    if args.json:
        print_json(_account_json(saved) | {"changes": changes} if saved else {})
    else:
        print(f"customer {args.customer_number}: " + ("; ".join(changes) or "nothing changed"))
    return 0


def cmd_accounts(args: argparse.Namespace, settings: Settings) -> int:
    action = args.accounts_command
    if action == "import":
        return _import(args, settings)
    handler = _ACTIONS.get(action)
    if handler is None:
        raise UserError(f"unknown accounts action {action}")
    store = open_store(settings)
    try:
        return handler(args, store)
    finally:
        store.close()


def _list(args: argparse.Namespace, store: Store) -> int:
    accounts = store.accounts()
    if args.json:
        print_json([_account_json(a) for a in accounts])
    else:
        for a in accounts:
            print(f"{a.customer_number:<10} {a.display_name:<28} "
                  f"{', '.join(a.plate_displays):<24} {a.visit_reason}")
        print(f"{len(accounts)} accounts")
    return 0


def _remove_plate(args: argparse.Namespace, store: Store) -> int:
    try:
        plate = plate_from_label(args.plate, district_codes())
    except ValueError as exc:
        raise UserError(str(exc)) from exc
    owner = store.remove_plate(plate.compact)
    if owner is None:
        raise UserError(f"plate {plate.display} is not registered; see "
                        "'kennzeichen-checkin accounts list'")
    if args.json:
        print_json({"removed_plate": plate.display, "customer_number": owner})
    else:
        print(f"removed plate {plate.display} from customer {owner}")
    return 0


def _customer_data(args: argparse.Namespace, store: Store) -> dict[str, Any]:
    data = store.export_customer(args.customer_number)
    if data is None:
        raise UserError(f"customer {args.customer_number} not found; "
                        "see 'kennzeichen-checkin accounts list'")
    return data


def _export(args: argparse.Namespace, store: Store) -> int:
    print_json(_customer_data(args, store))
    return 0


def _forget(args: argparse.Namespace, store: Store) -> int:
    data = _customer_data(args, store)
    if not args.yes:
        account: Any = data["account"]
        preview = {"accounts": int(account is not None),
                   "plates": len(account["plates"]) if account else 0,
                   "reads": len(data["reads"]),
                   "undelivered_events_dropped": len(data["events_not_yet_delivered"])}
        return _preview(args, f"would erase customer {args.customer_number}", preview)
    counts = store.forget_customer(args.customer_number)
    if counts["undelivered_events_dropped"]:
        log.warning("dropped %d undelivered event(s) of the erased customer",
                    counts["undelivered_events_dropped"])
    if args.json:
        print_json(counts)
    else:
        print(f"erased customer {args.customer_number}: " + ", ".join(
            f"{v} {k.replace('_', ' ')}" for k, v in counts.items()))
    return 0


def _remove(args: argparse.Namespace, store: Store) -> int:
    if not store.remove_account(args.customer_number):
        raise UserError(f"customer {args.customer_number} not found; "
                        "see 'kennzeichen-checkin accounts list'")
    if args.json:
        print_json({"removed_customer": args.customer_number})
    else:
        print(f"removed customer {args.customer_number} and their plates")
    return 0


_ACTIONS: dict[str, Callable[[argparse.Namespace, Store], int]] = {
    "list": _list, "add": _add, "remove-plate": _remove_plate,
    "export": _export, "forget": _forget, "remove": _remove}




# -- privacy ------------------------------------------------------------------------------


def _preview(args: argparse.Namespace, what: str, counts: dict[str, int]) -> int:
    """What a destructive command would do, without doing it: every such command (purge,
    accounts forget, campaign close) previews unless given --yes."""
    if args.json:
        print_json({"dry_run": True, **counts})
    else:
        print(f"{what}: " + ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in counts.items())
              + "; nothing deleted: add --yes to do it")
    return 0


def _acts(args: argparse.Namespace) -> bool:
    """--yes acts; without it, or with --dry-run (kept from when purge acted by default, so
    older scripts still preview with it), a command only previews."""
    if args.yes and getattr(args, "dry_run", False):
        raise UserError("--yes and --dry-run contradict each other: --yes deletes, "
                        "--dry-run only shows what would go")
    return bool(args.yes)


def cmd_purge(args: argparse.Namespace, settings: Settings) -> int:
    from datetime import UTC, datetime

    from pipeline.privacy.retention import cutoffs, purge

    act = _acts(args)
    store = open_store(settings)
    try:
        now = datetime.now(UTC)
        report = purge(store, settings.privacy, now, dry_run=not act)
    finally:
        store.close()
    crops = crops_retention(settings)
    crops_deleted = purge_crops(*crops) if crops and act else 0
    unregistered, matched = cutoffs(now, settings.privacy)
    data = {"dry_run": not act, "unregistered_before": unregistered,
            "matched_plates_before": matched, **report.__dict__,
            "debug_crops_deleted": crops_deleted}
    if args.json:
        print_json(data)
    else:
        verb = "deleted" if act else "would delete"
        print(f"{verb} {report.unregistered_reads_deleted} reads of unregistered cars (seen "
              f"before {unregistered}, or dismissed) and plate text of "
              f"{report.matched_plates_removed} matched reads (before {matched})"
              + ("" if act else "; nothing deleted: add --yes to do it"))
    return 0


def _campaign_preview(store: Store) -> dict[str, int]:
    accounts = store.accounts()
    return {"accounts": len(accounts), "plates": sum(len(a.plates) for a in accounts),
            "undelivered_events_dropped": store.outbox_depth(),
            "reads_anonymised": sum(store.read_counts("").values())}


def cmd_campaign(args: argparse.Namespace, settings: Settings) -> int:
    store = open_store(settings)
    try:
        if not _acts(args):
            preview = _campaign_preview(store)
            preview["hmac_key_deleted"] = int(settings.hmac_key_path.is_file())
            return _preview(args, "campaign close would delete (cannot be undone)", preview)
        counts = store.close_campaign()
    finally:
        store.close()
    key = settings.hmac_key_path
    counts["hmac_key_deleted"] = int(key.is_file())
    key.unlink(missing_ok=True)
    if args.json:
        print_json(counts)
    else:
        print("campaign closed: " + ", ".join(f"{v} {k.replace('_', ' ')}"
                                              for k, v in counts.items())
              + "; anonymous arrival statistics kept")
    return 0
