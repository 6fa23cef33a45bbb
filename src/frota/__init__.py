"""frota: an end-to-end data pipeline for a vehicle fleet and its maintenance records."""

from importlib.metadata import PackageNotFoundError, version

try:
    # The version pyproject.toml gave the installed distribution (wheel or editable install).
    __version__ = version("frota")
except PackageNotFoundError:  # a bare source tree on sys.path, never installed
    __version__ = "0+unknown"
