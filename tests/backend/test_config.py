"""Settings: a bad setting stops startup with one line naming it, never a traceback, and never
echoes a secret back."""

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from backend.core import config
from backend.core.config import PROJECT_ROOT, ConfigError, Settings, load_settings

GOOD_SECRET = "kV3q9-ZrT1x_Lm8pQw2Ey7Nb4Hc6Jd0Fs5Ga"
_OUR_VARIABLES = ("ENV", "SECRET_KEY", "DATABASE_URL", "REDIS_URL", "LOCKOUT_THRESHOLD")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No setting leaks in from the machine, and no `.env` is found (settings read `.env` from
    the working directory); the development key file goes to a temporary folder."""
    for name in list(os.environ):
        if name.upper() in _OUR_VARIABLES:
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(config, "VAR_DIR", tmp_path / "var")
    monkeypatch.setattr(config, "DEV_SECRET_FILE", tmp_path / "var" / "secret_key")
    return tmp_path


def config_error(monkeypatch: pytest.MonkeyPatch, **variables: str) -> str:
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    return str(caught.value)


# --- SECRET_KEY ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "secret",
    [None, "", "too-short-0123456789", "a" * 64, "abcabcabcabcabcabcabcabcabcabcabcabc"],
    ids=["missing", "empty", "short", "one-character", "few-characters"],
)
def test_production_refuses_a_missing_or_weak_secret_key(monkeypatch, secret):
    variables = {"ENV": "production"}
    if secret is not None:
        variables["SECRET_KEY"] = secret

    message = config_error(monkeypatch, **variables)

    assert "SECRET_KEY" in message
    assert "\n" not in message
    assert "at least 32" in message
    if secret:
        assert secret not in message


def test_production_accepts_a_long_random_secret_key(monkeypatch):
    monkeypatch.setenv("ENV", "production")
    monkeypatch.setenv("SECRET_KEY", GOOD_SECRET)

    settings = load_settings()

    assert settings.env == "production"
    assert settings.secret_key == GOOD_SECRET


def test_development_keeps_one_generated_key_in_a_private_file(clean_environment):
    first = load_settings()
    second = load_settings()

    key_file = clean_environment / "var" / "secret_key"
    assert len(first.secret_key) >= 32
    assert second.secret_key == first.secret_key
    assert key_file.read_text().strip() == first.secret_key
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_a_dotenv_file_in_the_working_directory_is_read(clean_environment):
    (clean_environment / ".env").write_text(f"ENV=production\nSECRET_KEY={GOOD_SECRET}\n")

    settings = load_settings()

    assert (settings.env, settings.secret_key) == ("production", GOOD_SECRET)


# --- DATABASE_URL --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (
            "postgres://cc:pw@db.internal:5432/carecircle",
            "postgresql+asyncpg://cc:pw@db.internal:5432/carecircle",
        ),
        ("postgresql://cc@localhost/carecircle", "postgresql+asyncpg://cc@localhost/carecircle"),
        ("postgresql+asyncpg://cc@localhost/cc", "postgresql+asyncpg://cc@localhost/cc"),
        ("sqlite:///var/cc.db", "sqlite+aiosqlite:///var/cc.db"),
        ("sqlite:////srv/cc.db", "sqlite+aiosqlite:////srv/cc.db"),
        ("sqlite+aiosqlite:///cc.db", "sqlite+aiosqlite:///cc.db"),
    ],
)
def test_database_urls_get_the_async_driver(monkeypatch, given, expected):
    monkeypatch.setenv("DATABASE_URL", given)

    assert load_settings().database_url == expected


def test_the_default_database_is_a_local_sqlite_file():
    settings = load_settings()

    assert settings.database_url.startswith("sqlite+aiosqlite:///")
    assert settings.is_sqlite


@pytest.mark.parametrize(
    "url",
    [
        "mysql://cc:s3cr3t-pw@db/carecircle",
        "postgresql+psycopg2://cc:s3cr3t-pw@db/carecircle",
        "db.internal:5432",
    ],
)
def test_an_unsupported_database_url_is_named_without_echoing_it(monkeypatch, url):
    message = config_error(monkeypatch, DATABASE_URL=url)

    assert message.startswith("Invalid setting DATABASE_URL")
    assert "postgresql://" in message and "sqlite:///" in message
    assert "\n" not in message
    assert "s3cr3t-pw" not in message


def test_every_bad_setting_is_named_on_the_same_line(monkeypatch):
    message = config_error(
        monkeypatch, DATABASE_URL="mysql://x/y", LOCKOUT_THRESHOLD="1", ENV="test"
    )

    assert "DATABASE_URL" in message and "LOCKOUT_THRESHOLD" in message
    assert "\n" not in message


def test_settings_built_in_code_validate_the_same_way():
    with pytest.raises(ValueError, match="SECRET_KEY"):
        Settings(env="production", secret_key="short", _env_file=None)
    settings = Settings(env="test", database_url="postgres://h/db", secret_key=GOOD_SECRET)
    assert settings.database_url == "postgresql+asyncpg://h/db"
    assert not settings.is_sqlite


# --- what an operator sees -----------------------------------------------------------------


def run_python(tmp_path: Path, *args: str, **env_overrides: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k.upper() not in _OUR_VARIABLES}
    env.update(env_overrides)
    env["PYTHONPATH"] = str(PROJECT_ROOT)
    return subprocess.run(
        [sys.executable, *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def assert_one_line_naming(result: subprocess.CompletedProcess, name: str) -> None:
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert name in lines[0]
    assert "Traceback" not in result.stderr


def test_cli_with_a_bad_setting_prints_one_line_and_exits(tmp_path):
    result = run_python(tmp_path, "-m", "backend", "seed", ENV="production")

    assert_one_line_naming(result, "SECRET_KEY")
    assert result.stderr.startswith("carecircle: ")


def test_cli_names_a_bad_database_url(tmp_path):
    result = run_python(
        tmp_path, "-m", "backend", "migrate", ENV="test", DATABASE_URL="mysql://u:pw@h/db"
    )

    assert_one_line_naming(result, "DATABASE_URL")


def test_app_import_with_a_bad_setting_prints_one_line_and_exits(tmp_path):
    """What `uvicorn backend.main:app` does: import the module, then read `app`."""
    result = run_python(tmp_path, "-c", "import backend.main as m; m.app", ENV="production")

    assert_one_line_naming(result, "SECRET_KEY")


def test_importing_the_app_module_alone_reads_no_settings(tmp_path):
    result = run_python(tmp_path, "-c", "import backend.main; print('imported')", ENV="production")

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "imported"


def test_uvicorn_with_a_bad_setting_prints_one_line_and_exits(tmp_path):
    result = run_python(
        tmp_path,
        "-m",
        "uvicorn",
        "backend.main:app",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        ENV="production",
    )

    assert_one_line_naming(result, "SECRET_KEY")
