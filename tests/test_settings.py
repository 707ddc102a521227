"""Settings: one table, validated, every entry documented in the README."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsvault.errors import ArchiveError
from newsvault.settings import SETTINGS, Settings

README = Path(__file__).resolve().parents[1] / "README.md"


def test_defaults_and_file_values() -> None:
    settings = Settings({"fetch": {"timeout": 5, "per_host": 4}}, environ={})
    assert settings["fetch.timeout"] == 5.0 and settings["fetch.per_host"] == 4
    assert settings["fetch.allow_private_networks"] is False
    assert settings.fetch_options().timeout == 5.0


def test_environment_overrides_the_file() -> None:
    env = {"NEWSVAULT_ALLOW_PRIVATE_NETWORKS": "1"}
    settings = Settings({"fetch": {"allow_private_networks": False}}, environ=env)
    assert settings["fetch.allow_private_networks"] is True


@pytest.mark.parametrize(
    ("document", "environ", "message"),
    [
        ({"fetch": {"timeout": "soon"}}, {}, "fetch.timeout"),
        ({"fetch": {"max_bytes": True}}, {}, "fetch.max_bytes"),
        ({"fetch": {"timout": 3}}, {}, "unknown setting 'fetch.timout'"),
        ({}, {"NEWSVAULT_ALLOW_PRIVATE_NETWORKS": "maybe"}, "NEWSVAULT_ALLOW_PRIVATE_NETWORKS"),
        (
            {"captures": {"compression": "zstd"}},
            {},
            "captures.compression = 'zstd' is not one of fast, small",
        ),
    ],
)
def test_bad_values_name_the_setting(document: dict, environ: dict, message: str) -> None:
    with pytest.raises(ArchiveError, match=message):
        Settings(document, environ=environ)


def test_every_setting_is_documented_in_the_readme() -> None:
    readme = README.read_text(encoding="utf-8")
    for setting in SETTINGS:
        assert f"`{setting.key}`" in readme, setting.key


def test_nested_tables_and_lists() -> None:
    document = {"publish": {"list_size": 50, "git": {"remotes": ["/srv/a.git", "b"]}}}
    settings = Settings(document, environ={})
    assert settings["publish.git.remotes"] == ["/srv/a.git", "b"]
    assert settings["publish.list_size"] == 50 and settings["publish.git.site"] is False
    with pytest.raises(ArchiveError, match=r"unknown setting 'publish\.git\.remote'"):
        Settings({"publish": {"git": {"remote": "x"}}}, environ={})
    one = Settings({"publish": {"git": {"remotes": "/srv/a.git"}}}, environ={})
    assert one["publish.git.remotes"] == ["/srv/a.git"]
    with pytest.raises(ArchiveError, match=r"publish\.git\.remotes"):
        Settings({"publish": {"git": {"remotes": [1, 2]}}}, environ={})
