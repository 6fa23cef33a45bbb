"""One settings path: config.py is the one module that reads the environment, every engine made
from the settings gets their TLS options, passwords never travel as URL text, and each setting
has one default."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from frota.config import Secret, Settings, load_settings
from frota.db.engine import database_url
from frota.warehouse.dbt import dbt_environment, default_work_dir
from frota.warehouse.target import warehouse_target

SRC = Path(__file__).parent.parent / "src" / "frota"

# Modules that touch os.environ below config.py, and why that is not reading configuration.
ENVIRON_ALLOWED = {
    "config.py": "the one place settings come from",
    "warehouse/dbt.py": "sets dbt's environment (from Settings) for its in-process run",
    "orchestrate/schedule/common.py": "copies the shell's PATH and FROTA_* into a schedule",
    "faults.py": "fault-injection hooks the crash tests set, never a setting",
    "db/ddl.py": "the same fault hooks, for the migration crash tests",
    "ops/dvc.py": "the dvc and git children get the shell's environment, with analytics off",
}


def _modules() -> list[tuple[str, ast.Module]]:
    return [
        (path.relative_to(SRC).as_posix(), ast.parse(path.read_text(encoding="utf-8")))
        for path in sorted(SRC.rglob("*.py"))
    ]


def test_no_environment_reads_below_config() -> None:
    offenders = []
    for name, tree in _modules():
        for node in ast.walk(tree):
            attr = node if isinstance(node, ast.Attribute) else None
            if (
                attr is not None
                and attr.attr in ("environ", "getenv")
                and isinstance(attr.value, ast.Name)
                and attr.value.id == "os"
                and name not in ENVIRON_ALLOWED
            ):
                offenders.append(f"{name}:{attr.lineno}")
    assert not offenders, f"os.environ read outside config.py: {offenders}"


def test_engines_from_settings_always_get_their_tls_options() -> None:
    """`create_engine(settings.database, …)` would silently drop db_ssl_* and require_tls:
    code that has the settings calls `database_engine(settings)`."""
    offenders = []
    for name, tree in _modules():
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", getattr(node.func, "attr", None)) == "create_engine"
                and node.args
                and isinstance(node.args[0], ast.Attribute)
                and node.args[0].attr == "database"
                and name != "db/engine.py"  # database_engine itself
            ):
                offenders.append(f"{name}:{node.lineno}")
    assert not offenders


def test_settings_keep_the_url_as_written_and_tls_apart() -> None:
    s = Settings(database="mysql://u@db.example.com/x", db_ssl_ca="/ca.pem")
    assert s.database == "mysql://u@db.example.com/x"  # no TLS folded into the setting
    url = database_url(s)
    assert (url.drivername, url.query["ssl_ca"]) == ("mysql+pymysql", "/ca.pem")


def test_passwords_come_from_the_secrets_not_the_url_text() -> None:
    s = load_settings(
        env={
            "FROTA_DATABASE": "postgresql://frota@db/x",
            "FROTA_DATABASE_PASSWORD": "db-pw",
            "FROTA_WAREHOUSE": "postgresql://analytics@wh/dw",
            "FROTA_WAREHOUSE_PASSWORD": "wh-pw",
        }
    )
    assert "pw" not in s.database + s.warehouse
    assert database_url(s).password == "db-pw"
    target = warehouse_target(s)
    assert (target.user, target.password, target.database) == ("analytics", "wh-pw", "dw")
    env = dbt_environment(target)
    assert env["DBT_ENV_SECRET_FROTA_WAREHOUSE_PASSWORD"] == "wh-pw"
    assert env["PGOPTIONS"] == "-c jit=off" and env["DBT_SEND_ANONYMOUS_USAGE_STATS"] == "false"
    assert s.secret_values() == ("db-pw", "wh-pw")


def test_the_secret_beats_a_password_in_the_warehouse_url() -> None:
    s = Settings(warehouse="postgresql://a:from-url@h/d", warehouse_password=Secret("secret"))
    assert warehouse_target(s).password == "secret"
    assert warehouse_target(Settings(warehouse="postgresql://a:from-url@h/d")).password == (
        "from-url"
    )


def test_dbt_work_folder_lives_under_cache_dir(tmp_path: Path) -> None:
    s = load_settings(env={"FROTA_CACHE_DIR": str(tmp_path)})
    assert default_work_dir(warehouse_target(s), s.cache_dir).parent == tmp_path


@pytest.mark.parametrize("name", ["landing", "database", "warehouse", "outbox", "log_dir"])
def test_each_default_is_spelled_once(name: str) -> None:
    default = getattr(Settings(), name)
    spelled = [
        path.relative_to(SRC).as_posix()
        for path in SRC.rglob("*.py")
        if f'"{default}"' in path.read_text(encoding="utf-8")
    ]
    assert spelled == ["config.py"]
