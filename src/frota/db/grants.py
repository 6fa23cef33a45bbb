"""The SQL an administrator runs to create frota's database and least-privilege users.

- admin (`frota_admin`): owns the schema; runs `frota db init` (DDL) and nothing else.
- loader (`frota_loader`): reads and writes the tables; no DDL, no FILE, no GRANT.
- analytics (`frota_analytics`): read-only, for the warehouse's replication.

Passwords are placeholders (`<...>`): the administrator replaces them; frota never prints a
real password.
"""

from __future__ import annotations

from frota.db.schema import metadata

USERS = ("frota_admin", "frota_loader", "frota_analytics")


def _tables() -> list[str]:
    return [t.name for t in metadata.sorted_tables]


def mysql_grants(database: str = "logistica_fonte", host: str = "%") -> str:
    """MySQL 8 / MariaDB statements."""
    db = f"`{database}`"
    lines = [
        f"CREATE DATABASE IF NOT EXISTS {db} CHARACTER SET utf8mb4;",
        f"CREATE USER IF NOT EXISTS 'frota_admin'@'{host}' IDENTIFIED BY '<ADMIN_PASSWORD>';",
        f"GRANT CREATE, ALTER, INDEX, REFERENCES, DROP, SELECT, INSERT, UPDATE, DELETE "
        f"ON {db}.* TO 'frota_admin'@'{host}';",
        f"CREATE USER IF NOT EXISTS 'frota_loader'@'{host}' IDENTIFIED BY '<LOADER_PASSWORD>';",
        f"GRANT SELECT, INSERT, UPDATE, CREATE TEMPORARY TABLES ON {db}.* "
        f"TO 'frota_loader'@'{host}';",
        f"CREATE USER IF NOT EXISTS 'frota_analytics'@'{host}' "
        f"IDENTIFIED BY '<ANALYTICS_PASSWORD>';",
        f"GRANT SELECT ON {db}.* TO 'frota_analytics'@'{host}';",
        "-- Require TLS for remote users (recommended):",
        *(f"-- ALTER USER '{u}'@'{host}' REQUIRE SSL;" for u in USERS),
    ]
    return "\n".join(lines) + "\n"


def postgres_grants(database: str = "logistica_fonte", schema: str = "public") -> str:
    """PostgreSQL statements (run with psql as a superuser)."""
    lines = [
        "CREATE ROLE frota_admin LOGIN PASSWORD '<ADMIN_PASSWORD>';",
        "CREATE ROLE frota_loader LOGIN PASSWORD '<LOADER_PASSWORD>';",
        "CREATE ROLE frota_analytics LOGIN PASSWORD '<ANALYTICS_PASSWORD>';",
        f"CREATE DATABASE {database} OWNER frota_admin ENCODING 'UTF8';",
        f"\\connect {database}",
        f"REVOKE CREATE ON SCHEMA {schema} FROM PUBLIC;",
        f"GRANT ALL ON SCHEMA {schema} TO frota_admin;",
        f"GRANT USAGE ON SCHEMA {schema} TO frota_loader, frota_analytics;",
        "-- Privileges on the tables `frota db init` (run as frota_admin) creates:",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE frota_admin IN SCHEMA {schema} "
        "GRANT SELECT, INSERT, UPDATE ON TABLES TO frota_loader;",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE frota_admin IN SCHEMA {schema} "
        "GRANT USAGE, SELECT ON SEQUENCES TO frota_loader;",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE frota_admin IN SCHEMA {schema} "
        "GRANT SELECT ON TABLES TO frota_analytics;",
        "-- If the tables already exist:",
        f"GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA {schema} TO frota_loader;",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO frota_loader;",
        f"GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO frota_analytics;",
    ]
    return "\n".join(lines) + "\n"


def grants_sql(dialect: str, database: str = "logistica_fonte") -> str:
    if dialect in ("mysql", "mariadb"):
        return mysql_grants(database)
    if dialect in ("postgresql", "postgres"):
        return postgres_grants(database)
    raise ValueError(f"no users to create for {dialect}: SQLite has no users")
