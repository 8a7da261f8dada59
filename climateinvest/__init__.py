"""climateinvest: climate investment plans for cities (klimatinvesteringsplaner).

Public API::

    import climateinvest as ci
    city = ci.load_city("data/landskrona")
    scenario = ci.load_scenario("parameters/2027/base.yaml")
    result = ci.run_scenario(scenario)
"""
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _version

try:
    __version__ = _version("climateinvest")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"

from climateinvest.io.city import load_city  # noqa: E402
from climateinvest.io.errors import ValidationError  # noqa: E402
from climateinvest.io.scenario import load_scenario  # noqa: E402


def __getattr__(name):  # run_scenario pulls in scipy and plotly: import it on first use only
    if name in ("run_scenario", "ScenarioResult"):
        from climateinvest import run
        return getattr(run, name)
    raise AttributeError(f"module 'climateinvest' has no attribute {name!r}")


__all__ = ["load_city", "load_scenario", "run_scenario", "ScenarioResult", "ValidationError", "__version__"]
