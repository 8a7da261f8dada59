"""The ``climateinvest`` command line. Exit 0 ok, 1 some scenario failed, 2 invalid input.

No traceback reaches a user: input problems are listed on stderr with file, row and column;
a file or folder the system refuses (``OSError``: read-only disk, permissions) exits 2 in plain
words; an unexpected error prints one line (``--debug`` shows the traceback).
"""
from __future__ import annotations

import argparse
import signal
import sys
import threading
import warnings
from pathlib import Path

from climateinvest import __version__
from climateinvest.io.errors import ScenarioError, ValidationError

EXIT_OK, EXIT_FAILED, EXIT_INVALID = 0, 1, 2


def _is_scenario(path: Path) -> bool:
    return path.suffix.lower() in (".yaml", ".yml")


def cmd_validate(args) -> int:
    """``climateinvest validate PATH``: check a city folder, workbook or scenario; 0 ok, 2 invalid.

    A scenario gets every input check ``run`` makes (``io.city.check_scenario``).
    """
    from climateinvest.io.city import check_scenario, load_city
    from climateinvest.io.scenario import load_scenario

    path = Path(args.path)
    if _is_scenario(path):
        scenario = load_scenario(path)
        city = load_city(scenario.city)
        check_scenario(city, scenario)
        what = f"scenario {path} (city {city.name}, {len(city.measures)} measures)"
    else:
        city = load_city(path)
        what = f"city {city.name}: {len(city.measures)} measures, {len(city.carriers)} carriers"
    for note in city.load_notes:
        print(f"note: {note}", file=sys.stderr)
    print(f"valid: {what}")
    return EXIT_OK


def cmd_run(args) -> int:
    """``climateinvest run SCENARIO --out DIR``: compute and write the result tables.

    ``--out`` is checked before anything is computed: never an input file or folder, never a
    folder of other files (an earlier result folder is replaced whole).
    """
    from climateinvest.io.city import check_scenario, load_city
    from climateinvest.io.files import check_output
    from climateinvest.io.scenario import load_scenario
    from climateinvest.run import run_scenario

    scenario = load_scenario(args.scenario)
    city = load_city(scenario.city)
    check_scenario(city, scenario)
    check_output(args.out, [scenario.source_file, city.path, *city.files.values()], replaces="manifest.json")
    result = run_scenario(scenario, city)
    for note in result.city.load_notes:  # what the loader accepted, as ``validate`` says it
        print(f"note: {note}", file=sys.stderr)
    main_thread = threading.current_thread() is threading.main_thread()
    old = signal.signal(signal.SIGTERM, _interrupt) if main_thread else None  # SIGTERM while saving:
    try:  # the partial folder is removed, the earlier result stays whole
        out = result.save(args.out)
    finally:
        if old is not None:
            signal.signal(signal.SIGTERM, old)
    for name, df in result.tables().items():
        print(f"{out / (name + '.csv')}  ({len(df)} rows)")
    return EXIT_OK


def _interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def cmd_report(args) -> int:
    """``climateinvest report SCENARIO...``: one HTML report per scenario, a comparison and an index.

    The reports need the ``report`` extra (plotly, papermill, nbconvert, ipykernel); without it
    the command says how to install it and exits 2.
    """
    missing = _missing_report_packages()
    if missing:
        print(f"the report command needs {', '.join(missing)}: pip install 'climateinvest[report]'",
              file=sys.stderr)
        return EXIT_INVALID
    from climateinvest.batch.runner import run_batch

    return run_batch(args.scenarios, out=args.out, jobs=args.jobs, run_id=args.run_id, scheduler=args.scheduler,
                     lang=args.lang, pdf=args.pdf)


def cmd_synthesis(args) -> int:
    """``climateinvest synthesis CITY...``: every city's scenario reports and their national synthesis.

    Needs the ``report`` extra (the reports, and Dask); without it the command says how to
    install it and exits 2.
    """
    missing = _missing_report_packages()
    if missing:
        print(f"the synthesis command needs {', '.join(missing)}: pip install 'climateinvest[report]'",
              file=sys.stderr)
        return EXIT_INVALID
    from climateinvest.batch.synthesis import run_synthesis

    return run_synthesis(args.cities, args.cycle, out=args.out, jobs=args.jobs, scheduler=args.scheduler,
                         run_id=args.run_id, conversions=args.conversions, headline=args.scenario,
                         language=args.language)


def _missing_report_packages() -> list[str]:
    """The packages of the ``report`` extra that cannot be imported here."""
    from importlib.util import find_spec

    return [name for name in ("plotly", "papermill", "nbconvert", "nbformat", "ipykernel", "ipywidgets", "distributed")
            if find_spec(name) is None]


def cmd_template(args) -> int:
    """``climateinvest template OUT.xlsx``: a workbook in the city format, empty or from a city."""
    from climateinvest.io.city import load_city, write_city

    city = load_city(args.from_city) if args.from_city else None
    out = Path(args.out)
    if out.exists():
        raise ValidationError(f"{out} exists already; choose a new file name (nothing was written)")
    write_city(city, out, empty=city is None)
    print(f"wrote {out}")
    return EXIT_OK


def cmd_adopt(args) -> int:
    """``climateinvest adopt REPORT_RUN SCENARIO``: keep the adopted plan (never overwritten)."""
    from climateinvest.followup import adopt_scenario

    path = adopt_scenario(args.run, args.scenario, args.city)
    print(f"wrote {path}")
    return EXIT_OK


def cmd_followup(args) -> int:
    """``climateinvest followup REPORT_RUN``: plan against outcome, what changed, green-loan and EU
    Mission reports for every scenario of the run built on an adopted plan.
    """
    from climateinvest.report.followup import write_followup_reports

    written = write_followup_reports(args.run)
    for path in written:
        print(path)
    if not written:
        print("no scenario of this run builds on an adopted plan: nothing to follow up", file=sys.stderr)
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``climateinvest`` command."""
    p = argparse.ArgumentParser(prog="climateinvest", description="Climate investment plans for cities.")
    p.add_argument("--version", action="version", version=f"climateinvest {__version__}")
    p.add_argument("--debug", action="store_true", help="show tracebacks of unexpected errors")
    sub = p.add_subparsers(dest="command", required=True)

    v = sub.add_parser("validate", help="check a city folder, workbook or scenario file")
    v.add_argument("path")
    v.set_defaults(func=cmd_validate)

    r = sub.add_parser("run", help="compute a scenario and write its result tables")
    r.add_argument("scenario")
    r.add_argument("--out", required=True, help="folder for the CSV, XLSX and manifest")
    r.set_defaults(func=cmd_run)

    b = sub.add_parser("report", help="HTML reports for scenarios, a comparison, an index and a manifest")
    b.add_argument("scenarios", nargs="+")
    b.add_argument("--out", default="reports", help="reports root; each run gets a new folder <cycle>/<run id>/")
    b.add_argument("--jobs", type=int, default=1, help="worker processes")
    b.add_argument("--run-id", default=None, help="name of the run folder (default: date and time)")
    b.add_argument("--lang", choices=("sv", "en"), default=None,
                   help="language of the reports (default: the scenario's language, else sv for a Swedish city)")
    b.add_argument("--pdf", action="store_true", help="also print each report to a PDF beside it (needs chromium)")
    b.add_argument("--scheduler", default=None,
                   help="Dask scheduler address (tcp://host:8786); default a LocalCluster of --jobs workers on "
                        "127.0.0.1; 'in-process' runs every notebook here, one after another")
    b.set_defaults(func=cmd_report)

    a = sub.add_parser("adopt", help="record a scenario of a report run as the cycle's adopted plan")
    a.add_argument("run", help="report run folder (reports/<cycle>/<run id>) or a scenario's result folder")
    a.add_argument("scenario", help="the scenario's name in the run (e.g. base)")
    a.add_argument("--city", default=None, help="city folder for plans/ (default: the one the run read)")
    a.set_defaults(func=cmd_adopt)

    f = sub.add_parser("followup", help="follow-up reports (Swedish) for the run's scenarios built on a plan")
    f.add_argument("run", help="report run folder written by climateinvest report")
    f.set_defaults(func=cmd_followup)

    y = sub.add_parser("synthesis", help="every city's scenario reports and a national synthesis of them")
    y.add_argument("cities", nargs="+", help="city folders (city.yaml and scenarios/*.yaml), or folders of them")
    y.add_argument("--cycle", type=int, required=True, help="budget cycle: the scenarios with this budget_cycle")
    y.add_argument("--out", default="reports", help="reports root; each run gets a new folder <cycle>/<run id>/")
    y.add_argument("--jobs", type=int, default=1, help="Dask worker processes of the local cluster")
    y.add_argument("--scheduler", default=None,
                   help="Dask scheduler address (tcp://host:8786); default a LocalCluster on 127.0.0.1")
    y.add_argument("--run-id", default=None, help="name of the run folder (default: date and time)")
    y.add_argument("--conversions", default=None,
                   help="YAML file of currency and price-year factors into one currency (needed when the "
                        "cities' currencies or price years differ)")
    y.add_argument("--scenario", default="base", help="the scenario name each city is summed with (default base)")
    y.add_argument("--language", default="sv", choices=("sv", "en"), help="language of the synthesis page")
    y.set_defaults(func=cmd_synthesis)

    t = sub.add_parser("template", help="write a city workbook (.xlsx) or CSV folder to fill in")
    t.add_argument("out")
    t.add_argument("--from-city", help="copy this city instead of writing an empty template")
    t.set_defaults(func=cmd_template)
    return p


def _show_warning(message, category, filename, lineno, file=None, line=None):
    print(f"warning: {message}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Entry point: run a subcommand; exit 0 ok, 1 failed, 2 invalid input, 130 interrupted."""
    args = build_parser().parse_args(argv)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("default")
            warnings.showwarning = _show_warning
            return args.func(args)
    except ValidationError as e:
        print(f"invalid input: {e.report()}", file=sys.stderr)
        return EXIT_INVALID
    except ScenarioError as e:
        print(f"cannot compute: {e}", file=sys.stderr)
        return EXIT_FAILED
    except OSError as e:  # a file or folder the system refused (read-only disk, disk full, ...)
        where = f"{e.filename}: " if e.filename else ""
        print(f"invalid input: {where}cannot be read or written: {(e.strerror or str(e)).lower()}",
              file=sys.stderr)
        return EXIT_INVALID
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # noqa: BLE001 - the last line of defence for users
        if args.debug:
            raise
        print(f"error: {type(e).__name__}: {e} (run with --debug for details)", file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
