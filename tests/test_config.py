"""Configuration that would fail late or drop arrivals in silence is refused at start, naming
the key and what is allowed, before the model loads or anything is read."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.config import ConfigError, load_settings

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


def test_the_example_config_is_generated_from_the_schema() -> None:
    """The example file is what a utility copies: it must be exactly what the schema and the
    built-in defaults give (a key added to a dataclass without a description fails here, and
    so does a hand edit of the file). Regenerate it with
    ``kennzeichen-checkin config --example > config/kennzeichen-checkin.example.toml``."""
    from pipeline.config import settings_toml

    example = (ROOT / "config" / "kennzeichen-checkin.example.toml").read_text(encoding="utf-8")
    assert example == settings_toml(), "regenerate: kennzeichen-checkin config --example"


def test_detector_and_motion_gate_are_tuned_from_the_file(tmp_path: Path) -> None:
    config = tmp_path / "site.toml"
    config.write_text("[detection]\nmax_width_frac = 0.9\nfield_aspect = [0.8, 2]\n"
                      "[gate]\nthreshold = 4.5\n", encoding="utf-8")
    settings = load_settings(config)
    assert settings.detection.max_width_frac == 0.9
    assert settings.detection.field_aspect == (0.8, 2.0)
    assert settings.gate.threshold == 4.5
    config.write_text("[detection]\nfield_aspect = [2, 1]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"field_aspect = \[2, 1\]: must be \[low, high\]"):
        load_settings(config)


def test_config_command_shows_what_is_in_effect_without_the_password(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json
    import tomllib

    config = tmp_path / "site.toml"
    config.write_text("[camera]\nid = \"lane2\"\n[mqtt]\npassword = \"geheim\"\n",
                      encoding="utf-8")
    assert main(["--config", str(config), "config"]) == 0
    out = capsys.readouterr().out
    assert tomllib.loads(out)["camera"]["id"] == "lane2" and "geheim" not in out
    assert main(["--config", str(config), "config", "--json"]) == 0
    values = json.loads(capsys.readouterr().out)
    assert values["camera"]["id"] == "lane2" and values["mqtt"]["password"] != "geheim"
