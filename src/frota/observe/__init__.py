"""Observability: what an operator sees of the pipeline.

- `runs`: the run history of every step (`@recorded`, `record_run`, `read_runs`);
- `facts`: the facts read once from the landing area, the database, the run history and the
  warehouse (`gather`), which `check` judges (`run_checks`: monitoring-plugin verdicts),
  `metrics` exposes (Prometheus) and `status` shows; the report (issue 15) reads them too;
- `alerts`: apprise messages when a problem starts and when it clears;
- `log`, `progress`: log lines (stderr, JSON lines in log_dir) and progress bars.
"""
