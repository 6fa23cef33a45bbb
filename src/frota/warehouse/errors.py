"""The warehouse step's own error (exit code 8, `frota.errors.EXIT_WAREHOUSE`)."""

from __future__ import annotations

from frota.errors import EXIT_WAREHOUSE, TerminalError

__all__ = ["EXIT_WAREHOUSE", "WarehouseError"]


class WarehouseError(TerminalError):
    """The warehouse could not be built: a dbt model or test failed, or the raw layer is unusable.

    Exit code 8. The message names the failing dbt node(s) (``model.frota.fct_manutencoes``,
    ``test.frota.unique_dim_veiculos_veiculo_sk``...) and dbt's own message; the hint says
    where dbt's full log is.
    """

    exit_code = EXIT_WAREHOUSE

    def __init__(
        self, message: str, *, failures: tuple[str, ...] = (), hint: str | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.failures = failures
