"""Integration tests: repositories, the unit of work, read sides, migrations, the CLI and the
throttle against real SQLite, PostgreSQL and Redis."""
