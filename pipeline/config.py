"""Settings: embedded defaults, overridden by a TOML file, then by environment variables.

See ``config/kennzeichen-checkin.example.toml`` for every key with its default and meaning.
Secrets can stay out of the file: ``KENNZEICHEN_MQTT_USERNAME`` and ``KENNZEICHEN_MQTT_PASSWORD``
override the ``[mqtt]`` values.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.display.server import DisplaySettings
from pipeline.events.mqtt_publisher import MqttSettings
from pipeline.matching.fuzzy import MatchThresholds
from pipeline.privacy.debug_crops import DebugSettings
from pipeline.privacy.retention import PrivacySettings
from pipeline.queue.model import QUEUE_DETAILS, QueueSettings
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


@dataclass(frozen=True)
class Settings:
    camera: CameraSettings = field(default_factory=CameraSettings)
    # a path or sqlite:///path (one PC), or postgresql://user@host:port/dbname (several
    # cameras, sites and consoles on one database; password via PGPASSWORD or ~/.pgpass)
    database: str = "data/kennzeichen-checkin.sqlite3"
    topic_prefix: str = ""  # default: checkin/<site>
    mqtt: MqttSettings = field(default_factory=MqttSettings)
    reading: ReadingSettings = field(default_factory=ReadingSettings)
    tracking: TrackerConfig = field(default_factory=TrackerConfig)
    privacy: PrivacySettings = field(default_factory=PrivacySettings)
    matching: MatchThresholds = field(default_factory=MatchThresholds)
    debug: DebugSettings = field(default_factory=DebugSettings)
    queue: QueueSettings = field(default_factory=QueueSettings)
    display: DisplaySettings = field(default_factory=DisplaySettings)
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


MATCHED_PAYLOADS = ("full", "no_plate", "customer_number")


def _section(cls: type, values: dict[str, Any], where: str) -> Any:
    names = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(names))
    if unknown:
        raise ConfigError(f"[{where}] unknown key(s) {', '.join(unknown)}; known: "
                          f"{', '.join(sorted(names))}")
    defaults = cls()
    kwargs = {}
    for key, value in values.items():
        expected = type(getattr(defaults, key))
        if expected is float and isinstance(value, int):
            value = float(value)
        if not isinstance(value, expected):
            raise ConfigError(f"[{where}] {key} must be {expected.__name__}, got {value!r}")
        kwargs[key] = value
    return dataclasses.replace(defaults, **kwargs)


def load_settings(path: Path | None = None, env: dict[str, str] | None = None) -> Settings:
    """Defaults, then the TOML file (if any), then environment overrides."""
    env = dict(os.environ) if env is None else env
    data: dict[str, Any] = {}
    if path is not None:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ConfigError(f"config file {path} not found; start from "
                              "config/kennzeichen-checkin.example.toml") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path} is not valid TOML: {exc}") from exc
    sections = {"camera": CameraSettings, "mqtt": MqttSettings, "reading": ReadingSettings,
                "tracking": TrackerConfig, "privacy": PrivacySettings,
                "matching": MatchThresholds, "debug": DebugSettings,
                "queue": QueueSettings, "display": DisplaySettings}
    top = {k: v for k, v in data.items() if k not in sections}
    settings = _section(Settings, {k: v for k, v in top.items() if k != "camera"}, "top level")
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
    if replaced["privacy"].matched_payload not in MATCHED_PAYLOADS:
        raise ConfigError(f"[privacy] matched_payload must be one of "
                          f"{', '.join(MATCHED_PAYLOADS)}")
    for name, key in (("queue", "detail"), ("display", "window_detail")):
        if getattr(replaced[name], key) not in QUEUE_DETAILS:
            raise ConfigError(f"[{name}] {key} must be one of {', '.join(QUEUE_DETAILS)}")
    if replaced["camera"].roi:
        from pipeline.detection.roi import RegionOfInterest

        try:
            RegionOfInterest(replaced["camera"].roi)
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"[camera] roi: {exc}") from exc
    return dataclasses.replace(settings, **replaced)
