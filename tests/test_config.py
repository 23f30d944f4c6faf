"""Configuration that would fail late or drop arrivals in silence is refused at start, naming
the key and what is allowed, before the model loads or anything is read."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.config import load_settings

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(("toml", "names"), [
    ("[mqtt]\nport = 99999\n", "[mqtt] port = 99999: allowed from 1 to 65535"),
    ("[mqtt]\nport = true\n", "[mqtt] port must be a whole number, got True"),
    ("[mqtt]\nkeepalive = -5\n", "[mqtt] keepalive = -5"),
    ("[mqtt]\nprotocol = \"4\"\n", "[mqtt] protocol = '4': must be one of 5, 3.1.1"),
    ("mqtt = 5\n", "[mqtt] must be a table"),
    ("[camera]\nid = \"lane+1\"\n", "[camera] id = 'lane+1' must not contain MQTT wildcards"),
    ("[camera]\nsite = \"drive#in\"\n", "[camera] site = 'drive#in' must not contain MQTT"),
    ("[camera]\nsite = \"a/b\"\n", "[camera] site = 'a/b' must not contain '/'"),
    ("topic_prefix = \"checkin/#\"\n", "topic_prefix = 'checkin/#' must not contain MQTT"),
    ("[camera]\nfolder_fps = nan\n", "[camera] folder_fps = nan: must be a finite number"),
    ("[camera]\nfolder_fps = 0\n", "[camera] folder_fps = 0.0: allowed from 0.01"),
    ("[tracking]\nagree = 0\n", "[tracking] agree = 0: allowed from 1"),
    ("[reading]\nrecogniser = \"tesseract\"\n", "recogniser = 'tesseract': must be one of auto"),
    ("database = \"mysql://db/checkin\"\n", "database = mysql://…: not supported"),
    ("[privacy]\ntimezone = \"Mars/Olympus\"\n", "timezone = 'Mars/Olympus' is not a time zone"),
    ("[privacy]\nservice_day_end = \"25:00\"\n", "service_day_end = '25:00': use HH:MM"),
])
def test_bad_configuration_is_refused_at_start_with_the_key_and_what_is_allowed(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], toml: str, names: str) -> None:
    config = tmp_path / "site.toml"
    config.write_text(toml, encoding="utf-8")
    code = main(["--config", str(config), "run", "--source", str(ROOT / "sample_frames")])
    err = capsys.readouterr().err
    assert code == 1
    assert names in err and "Traceback" not in err


def test_config_saved_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    config = tmp_path / "site.toml"
    config.write_bytes(b"\xef\xbb\xbf[camera]\nid = \"lane2\"\n")
    assert load_settings(config).camera.id == "lane2"


def test_the_example_config_is_valid() -> None:
    load_settings(ROOT / "config" / "kennzeichen-checkin.example.toml")


def test_the_example_config_names_every_key_with_its_default() -> None:
    """The example file is what a utility copies: every setting is in it, at its built-in
    default, and nothing else (a key added to a dataclass and not to the file fails here)."""
    import dataclasses
    import tomllib

    from pipeline.config import Settings

    with (ROOT / "config" / "kennzeichen-checkin.example.toml").open("rb") as fh:
        example = tomllib.load(fh)

    def flat(obj: object) -> dict[str, object]:
        out: dict[str, object] = {}
        for f in dataclasses.fields(obj):  # type: ignore[arg-type]
            value = getattr(obj, f.name)
            if dataclasses.is_dataclass(value):
                out.update({f"{f.name}.{k}": v for k, v in flat(value).items()})
            else:
                out[f.name] = list(value) if isinstance(value, tuple) else value
        return out

    def flat_toml(table: dict[str, object], where: str = "") -> dict[str, object]:
        out: dict[str, object] = {}
        for key, value in table.items():
            if isinstance(value, dict):
                out.update(flat_toml(value, f"{where}{key}."))
            else:
                out[f"{where}{key}"] = value
        return out

    defaults, documented = flat(Settings()), flat_toml(example)
    assert sorted(set(defaults) - set(documented)) == []  # settings the file does not show
    assert sorted(set(documented) - set(defaults)) == []  # keys the program does not know
    assert {k: v for k, v in documented.items() if defaults[k] != v} == {}
