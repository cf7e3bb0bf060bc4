"""The `jiedao` command: demo, serve, worker, import and Django's own commands."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jiedao.config.settings")
    import django

    django.setup()


def _migrate() -> None:
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)


def _serve(host: str, port: int, threads: int) -> None:
    from waitress import serve  # type: ignore[import-untyped]

    from jiedao.config.wsgi import application

    print(f"jiedao serving at http://{host}:{port}/  (Ctrl-C to stop)", flush=True)
    serve(application, host=host, port=port, threads=threads, ident="jiedao")


def _start_demo_worker() -> Any:
    """The demo has no separate `jiedao worker`: one in-process thread runs the jobs the pages queue
    (trace runs). Periodic jobs stay off so the demo's story holds still while it is explored."""
    import signal

    from huey.contrib.djhuey import HUEY

    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    consumer = HUEY.create_consumer(workers=1, worker_type="thread", periodic=False)
    consumer.start()
    for sig, handler in saved.items():  # Ctrl-C stops the server as before
        signal.signal(sig, handler)
    return consumer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="jiedao", description="jiedao (街道) — subdistrict operations platform"
    )
    sub = parser.add_subparsers(dest="cmd", required=True)

    p_demo = sub.add_parser("demo", help="build the Huayang demo database and serve it")
    p_demo.add_argument(
        "--scale", type=int, default=30000, help="residents in the subdistrict (default 30000)"
    )
    p_demo.add_argument("--build-only", action="store_true", help="build the database and stop")
    p_demo.add_argument("--seed", type=int, default=2022)
    p_demo.add_argument("--host", default="127.0.0.1")
    p_demo.add_argument("--port", type=int, default=8000)
    p_demo.add_argument(
        "--no-sensors",
        action="store_true",
        help="without live door-sensor traffic (in-process broker and simulator)",
    )

    p_serve = sub.add_parser("serve", help="run the production web server (waitress)")
    p_serve.add_argument("--host", default=os.environ.get("JIEDAO_HOST", "127.0.0.1"))
    p_serve.add_argument("--port", type=int, default=int(os.environ.get("JIEDAO_PORT", "8000")))
    p_serve.add_argument("--threads", type=int, default=8)
    p_serve.add_argument("--no-migrate", action="store_true")

    sub.add_parser("worker", help="run the Huey worker (periodic and background jobs)")

    p_imp = sub.add_parser("import", help="import households and residents from a spreadsheet")
    p_imp.add_argument("file")
    p_imp.add_argument("--community", required=True, help="community code")
    p_imp.add_argument("--commit", action="store_true", help="write the rows (default: dry run)")

    p_bridge = sub.add_parser("mqtt-bridge", help="store door-sensor events from the MQTT broker (MQTT_URL)")
    p_bridge.add_argument("--url", default="", help="broker URL (default: MQTT_URL)")
    p_bridge.add_argument("--client-id", default="jiedao-bridge", help="MQTT client ID (one per bridge)")

    p_sensors = sub.add_parser("sensors", help="door-sensor tools")
    sensors_sub = p_sensors.add_subparsers(dest="sensors_cmd", required=True)
    p_sim = sensors_sub.add_parser("simulate", help="publish realistic traffic for N sensors to the broker")
    p_sim.add_argument("--url", default="", help="broker URL (default: MQTT_URL)")
    p_sim.add_argument("--devices", type=int, default=50, help="how many sensors (registered ones first)")
    p_sim.add_argument("--seconds", type=float, default=60.0, help="how long to run (0: until interrupted)")
    p_sim.add_argument("--rate", type=float, default=1.0, help="speed-up of simulated time")
    p_sim.add_argument("--seed", type=int, default=2022)

    p_trace = sub.add_parser("trace", help="close and secondary contacts of index cases from presence data")
    p_trace.add_argument(
        "--case", action="append", help="PERSON_KEY@ONSET (ISO 8601 with offset); repeatable"
    )
    p_trace.add_argument("--cases-file", help="CSV with columns person_key, onset")
    p_trace.add_argument("--engine", choices=("duckdb", "spark"), default="duckdb")
    p_trace.add_argument("--spark-master", default="local[2]", help="for --engine spark (default local[2])")
    p_trace.add_argument("--root", default="", help="the presence store (default: $JIEDAO_VAR_DIR/presence)")
    p_trace.add_argument("--rules", help="a rules file (YAML or JSON); default: the built-in rules")
    p_trace.add_argument("--lookback-days", type=int, help="days before onset the index case's records count")
    p_trace.add_argument("--no-secondary", action="store_true", help="close contacts only")
    p_trace.add_argument(
        "--companions",
        action="store_true",
        help="cell records by Chengdu's spatio-temporal companion rule (>10 min together, >30 h in 14 days)",
    )
    p_trace.add_argument("--output", "-o", default="-", help="CSV file (default: standard output)")

    p_presence = sub.add_parser("presence", help="the presence store: load upstream files, see what it holds")
    presence_sub = p_presence.add_subparsers(dest="presence_cmd", required=True)
    p_load = presence_sub.add_parser("load", help="load a CSV or Parquet file of presence records")
    p_load.add_argument("file")
    p_load.add_argument("--root", default="", help="the presence store (default: $JIEDAO_VAR_DIR/presence)")
    p_days = presence_sub.add_parser("days", help="records per day over the last N days")
    p_days.add_argument("--last", type=int, default=14)
    p_days.add_argument("--root", default="")

    p_manage = sub.add_parser("manage", help="run a Django management command")
    p_manage.add_argument("args", nargs=argparse.REMAINDER)

    args = parser.parse_args(argv)
    if args.cmd == "demo":
        os.environ.setdefault("JIEDAO_DEBUG", "1")
    _django()

    if args.cmd == "demo":
        from jiedao.demo.build import build_demo, print_logins

        _migrate()
        summary = build_demo(scale=args.scale, seed=args.seed, progress=True)
        print_logins(summary)
        if not args.build_only:
            from django.conf import settings
            from django.core.management import call_command

            call_command("collectstatic", interactive=False, verbosity=0)
            worker = _start_demo_worker()
            live = None
            if not settings.MQTT_URL and not args.no_sensors:
                from jiedao.sensors.embedded import start_live_sensors

                try:
                    live = start_live_sensors(seed=args.seed)
                    print(f"Live door sensors: {live.describe()}", flush=True)
                except OSError as exc:  # the in-process broker could not listen: serve without it
                    print(f"Live door sensors are off: {exc}", flush=True)
            try:
                _serve(args.host, args.port, 8)
            finally:
                worker.stop()
                if live is not None:
                    live.stop()
        return 0
    if args.cmd == "serve":
        from django.core.management import call_command

        if not args.no_migrate:
            _migrate()
        call_command("collectstatic", interactive=False, verbosity=0)
        _serve(args.host, args.port, args.threads)
        return 0
    if args.cmd == "presence":
        from jiedao.tracing.cli import presence_cli

        return presence_cli(args)
    if args.cmd == "worker":
        from django.core.management import call_command

        call_command("run_huey")
        return 0
    if args.cmd == "import":
        from jiedao.registry.importer import import_file_cli

        return import_file_cli(args.file, community_code=args.community, commit=args.commit)
    if args.cmd == "mqtt-bridge":
        import logging

        from jiedao.sensors.bridge import Bridge

        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        Bridge(args.url or None, client_id=args.client_id).run_forever()
        return 0
    if args.cmd == "sensors":
        from jiedao.sensors.simulate import simulate_cli

        return simulate_cli(args)
    if args.cmd == "trace":
        from jiedao.tracing.cli import trace_cli

        return trace_cli(args)
    if args.cmd == "manage":
        from django.core.management import execute_from_command_line

        execute_from_command_line(["jiedao", *args.args])
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
