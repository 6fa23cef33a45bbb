"""frota: an end-to-end data pipeline for a vehicle fleet and its maintenance records."""

__version__ = "0.1.0"
