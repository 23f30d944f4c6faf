"""Settings: embedded defaults, overridden by a TOML file, then by environment variables.

What each key means and allows is said once, in ``pipeline.config_schema``; the example file
``config/kennzeichen-checkin.example.toml`` is generated from it (:func:`settings_toml`).
Secrets can stay out of the file: ``KENNZEICHEN_MQTT_USERNAME`` and ``KENNZEICHEN_MQTT_PASSWORD``
override the ``[mqtt]`` values.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.config_schema import HEADER, KEYS, SECTIONS, TOP
from pipeline.detection.gate import GateConfig
from pipeline.detection.morphology import MorphologyConfig
from pipeline.display.views import DisplaySettings
from pipeline.events.discovery import HomeAssistantSettings
from pipeline.events.mqtt_client import MqttSettings
from pipeline.matching.fuzzy import MatchThresholds
from pipeline.metrics.exporter import MetricsSettings
from pipeline.privacy.debug_crops import DebugSettings
from pipeline.privacy.retention import PrivacySettings
from pipeline.queue.model import QueueSettings
from pipeline.reading.plate_reader import BUDGET_MS, STOP_CONFIDENCE
from pipeline.tracking.passages import TrackerConfig


@dataclass(frozen=True)
class CameraSettings:
    id: str = "entrance"
    site: str = "drive-in"
    folder_fps: float = 5.0
    roi: list = field(default_factory=list)  # polygon [[x, y], ...] in fractions of the frame


@dataclass(frozen=True)
class ReadingSettings:
    models_dir: str = ""
    recogniser: str = "auto"  # auto | plate | stock
    torch_threads: int = 0  # 0: choose from the number of cores
    max_crops: int = 4
    motion_gate: bool = True  # skip frames in which nothing moved (a stopped car: 1 read/s)
    rectify: bool = True  # level tilted plates, stretch flat ones, locate the seals
    budget_ms: float = BUDGET_MS  # no further candidate of a frame is read after this
    stop_confidence: float = STOP_CONFIDENCE  # a German read this sure ends the frame's reading


@dataclass(frozen=True)
class Settings:
    camera: CameraSettings = field(default_factory=CameraSettings)
    # a path or sqlite:///path (one PC), or postgresql://user@host:port/dbname (several
    # cameras, sites and consoles on one database; password via PGPASSWORD or ~/.pgpass)
    database: str = "data/kennzeichen-checkin.sqlite3"
    topic_prefix: str = ""  # default: checkin/<site>
    mqtt: MqttSettings = field(default_factory=MqttSettings)
    reading: ReadingSettings = field(default_factory=ReadingSettings)
    detection: MorphologyConfig = field(default_factory=MorphologyConfig)
    gate: GateConfig = field(default_factory=GateConfig)
    tracking: TrackerConfig = field(default_factory=TrackerConfig)
    privacy: PrivacySettings = field(default_factory=PrivacySettings)
    matching: MatchThresholds = field(default_factory=MatchThresholds)
    debug: DebugSettings = field(default_factory=DebugSettings)
    queue: QueueSettings = field(default_factory=QueueSettings)
    display: DisplaySettings = field(default_factory=DisplaySettings)
    metrics: MetricsSettings = field(default_factory=MetricsSettings)
    homeassistant: HomeAssistantSettings = field(default_factory=HomeAssistantSettings)
    flush_timeout_s: float = 30.0
    status_interval_s: float = 30.0

    @property
    def prefix(self) -> str:
        return self.topic_prefix or f"checkin/{self.camera.site}"

    @property
    def hmac_key_path(self) -> Path:
        """Beside the SQLite file; with PostgreSQL every PC needs the same key file (copy
        it), or pseudonyms of one car differ between cameras."""
        if self.privacy.hmac_key_file:
            return Path(self.privacy.hmac_key_file)
        from pipeline.store.open import is_postgres, sqlite_path

        if is_postgres(self.database):
            return Path("data/kennzeichen-checkin.hmac-key")
        return Path(f"{sqlite_path(self.database)}.hmac-key")


class ConfigError(ValueError):
    pass


def _section(cls: type, values: dict[str, Any], where: str) -> Any:
    if not isinstance(values, dict):
        raise ConfigError(f"[{where}] must be a table of keys, got {values!r}")
    names = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(names))
    if unknown:
        raise ConfigError(f"[{where}] unknown key(s) {', '.join(unknown)}; known: "
                          f"{', '.join(sorted(names))}")
    defaults = cls()
    kwargs = {}
    for key, value in values.items():
        expected = type(getattr(defaults, key))
        if expected is tuple and isinstance(value, list):  # a range such as [0.75, 1.9]
            value = _pair(where, key, value)
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        # TOML's true is a Python int too: a port or a count must not be a boolean
        if not isinstance(value, expected) or (expected is not bool and isinstance(value, bool)):
            raise ConfigError(f"[{where}] {key} must be {_kind(expected)}, got {value!r}")
        _check_value(where, key, value)
        kwargs[key] = value
    return dataclasses.replace(defaults, **kwargs)


def _pair(where: str, key: str, value: list) -> tuple[float, float]:
    if len(value) != 2 or not all(isinstance(v, int | float) and not isinstance(v, bool)
                                  for v in value) or value[0] > value[1]:
        raise ConfigError(f"[{where}] {key} = {value!r}: must be [low, high], two numbers")
    return float(value[0]), float(value[1])


def _kind(expected: type) -> str:
    return {int: "a whole number", float: "a number", bool: "true or false",
            str: "a quoted string", list: "a list"}.get(expected, expected.__name__)


def _check_value(where: str, key: str, value: Any) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"[{where}] {key} = {value}: must be a finite number")
    bounds, choices = KEYS[where, key].bounds, KEYS[where, key].choices
    if bounds is not None and not bounds[0] <= value <= bounds[1]:
        raise ConfigError(f"[{where}] {key} = {value}: allowed from {bounds[0]:g} to "
                          f"{bounds[1]:g}")
    if choices is not None and value not in choices:
        raise ConfigError(f"[{where}] {key} = {value!r}: must be one of {', '.join(choices)}")


def topic_part_problem(value: str, *, levels: bool = False) -> str | None:
    """Why ``value`` cannot be (``levels``: a run of) MQTT topic level(s), or None: no
    wildcards (+ #), no NUL, not empty; only a prefix may hold '/' between levels."""
    if not value:
        return "must not be empty"
    if any(c in value for c in "+#\0"):
        return "must not contain MQTT wildcards (+ #) or NUL"
    if not levels and "/" in value:
        return "must not contain '/'"
    if levels and ("//" in value or value.startswith("/") or value.endswith("/")):
        return "must not have empty topic levels (a leading, trailing or double '/')"
    if len(value.encode("utf-8")) > 1000:
        return "is too long for a topic"
    return None


def check_settings(settings: Settings) -> None:
    """Checks across keys and of values with a syntax of their own."""
    for where, key, value, levels in (("camera", "id", settings.camera.id, False),
                                      ("camera", "site", settings.camera.site, False),
                                      ("top level", "topic_prefix", settings.prefix, True),
                                      ("homeassistant", "prefix", settings.homeassistant.prefix,
                                       True)):
        if where == "top level" and not settings.topic_prefix:
            continue
        problem = topic_part_problem(value, levels=levels)
        if problem:
            raise ConfigError(f"[{where}] {key} = {value!r} {problem}: it goes into the MQTT "
                              "topics")
    database = settings.database
    if "://" in database and not database.startswith(("sqlite:///", "postgresql://",
                                                      "postgres://")):
        raise ConfigError(f"database = {database.split('://')[0]}://…: not supported; use a "
                          "file path, sqlite:///path or postgresql://user@host/dbname")
    if not database:
        raise ConfigError("database must not be empty: a file path or postgresql://…")
    privacy = settings.privacy
    try:
        from zoneinfo import ZoneInfo

        ZoneInfo(privacy.timezone)
    except (ValueError, KeyError, OSError) as exc:
        raise ConfigError(f"[privacy] timezone = {privacy.timezone!r} is not a time zone; use "
                          "an IANA name such as \"Europe/Berlin\"") from exc
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", privacy.service_day_end)
    if not match or int(match[1]) > 23 or int(match[2]) > 59:
        raise ConfigError(f"[privacy] service_day_end = {privacy.service_day_end!r}: use HH:MM "
                          "from 00:00 to 23:59")


def _sections() -> dict[str, type]:
    """Section name -> its settings dataclass (every field of ``Settings`` that is one)."""
    defaults = Settings()
    return {f.name: type(getattr(defaults, f.name)) for f in dataclasses.fields(Settings)
            if dataclasses.is_dataclass(getattr(defaults, f.name))}


def load_settings(path: Path | None = None, env: dict[str, str] | None = None) -> Settings:
    """Defaults, then the TOML file (if any), then environment overrides."""
    env = dict(os.environ) if env is None else env
    data: dict[str, Any] = {}
    if path is not None:
        try:
            # utf-8-sig: a file saved by Windows' editors starts with a byte-order mark
            data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
        except FileNotFoundError as exc:
            raise ConfigError(f"config file {path} not found; start from "
                              "config/kennzeichen-checkin.example.toml") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path} is not valid TOML: {exc}") from exc
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{path} is not UTF-8 text (byte {exc.start}): save it as "
                              "UTF-8") from exc
        except OSError as exc:
            raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from exc
    sections = _sections()
    top = {k: v for k, v in data.items() if k not in sections}
    settings = _section(Settings, top, TOP)
    try:
        replaced = {name: _section(cls, data.get(name, {}), name)
                    for name, cls in sections.items()}
    except ValueError as exc:  # a section's own validation (e.g. thresholds out of range)
        raise ConfigError(str(exc)) from exc
    mqtt = replaced["mqtt"]
    if env.get("KENNZEICHEN_MQTT_USERNAME"):
        mqtt = dataclasses.replace(mqtt, username=env["KENNZEICHEN_MQTT_USERNAME"])
    if env.get("KENNZEICHEN_MQTT_PASSWORD"):
        mqtt = dataclasses.replace(mqtt, password=env["KENNZEICHEN_MQTT_PASSWORD"])
    replaced["mqtt"] = mqtt
    if replaced["camera"].roi:
        from pipeline.detection.roi import RegionOfInterest

        try:
            RegionOfInterest(replaced["camera"].roi)
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"[camera] roi: {exc}") from exc
    settings = dataclasses.replace(settings, **replaced)
    check_settings(settings)
    return settings


def settings_toml(settings: Settings | None = None, *, header: str = HEADER) -> str:
    """``settings`` (default: the built-in ones) as a TOML file in which every key carries its
    meaning and what it allows: the example file, or what is in effect at a site (a password
    is not shown)."""
    settings = settings or Settings()
    lines = [*_comment(header), ""]
    for section, note in SECTIONS.items():
        obj = settings if section == TOP else getattr(settings, section)
        lines += _comment(note)
        if section != TOP:
            lines.append(f"[{section}]")
        for f in dataclasses.fields(obj):
            value = getattr(obj, f.name)
            if section == TOP and dataclasses.is_dataclass(value):
                continue
            key = KEYS[section, f.name]
            allowed = (f"allowed: {key.bounds[0]:g} to {key.bounds[1]:g}" if key.bounds else
                       f"one of: {', '.join(key.choices)}" if key.choices else "")
            lines += _comment(key.doc) + _comment(allowed)
            if f.name == "password" and value:
                value = "(set; not shown)"
            lines.append(f"{f.name} = {_toml_value(value)}")
        lines.append("")
    return "\n".join(lines)


def _comment(text: str) -> list[str]:
    return [f"# {line}".rstrip() for line in text.splitlines()]


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a TOML basic string
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return repr(value)
