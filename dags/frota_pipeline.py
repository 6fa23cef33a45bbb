"""frota's pipeline DAG; the DAG itself lives in the package (frota.orchestrate.airflow_dag)."""

from frota.orchestrate.airflow_dag import frota_dag  # noqa: F401  (Airflow finds the DAG here)
