"""Orchestration: chain the steps (`run`), render schedules, the Airflow DAG."""
