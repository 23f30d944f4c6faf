"""The CLI's commands, one module per area; ``pipeline.cli`` dispatches to them."""

from pipeline.commands.accounts import cmd_accounts, cmd_campaign, cmd_purge
from pipeline.commands.doctor import cmd_config, cmd_doctor
from pipeline.commands.events import cmd_events
from pipeline.commands.operator import cmd_console, cmd_reads, deliver_now
from pipeline.commands.run import cmd_demo, cmd_eval, cmd_read, cmd_run
from pipeline.commands.wiring import run_pipeline

__all__ = ["cmd_accounts", "cmd_campaign", "cmd_config", "cmd_console", "cmd_demo",
           "cmd_doctor", "cmd_eval", "cmd_events", "cmd_purge", "cmd_read", "cmd_reads",
           "cmd_run", "deliver_now", "run_pipeline"]
