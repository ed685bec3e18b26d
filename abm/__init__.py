"""An agent-based market simulation of the AI compute economy (Mesa).

``ComputeMarket`` is imported lazily so that ``abm.config`` and the command line
start without paying for Mesa's import.
"""

from abm.config import Config, ConfigError, load_config

__all__ = ["ComputeMarket", "Config", "ConfigError", "load_config"]
__version__ = "0.1.0"


def __getattr__(name: str):
    if name == "ComputeMarket":
        from abm.model import ComputeMarket

        return ComputeMarket
    raise AttributeError(f"module 'abm' has no attribute {name!r}")
