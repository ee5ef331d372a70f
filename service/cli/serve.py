"""`deadzone serve`: the HTTP API."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from service.cli.context import (
    DEFAULT_DEMO_OUT,
    FLAG,
    DatabaseOpt,
    DemoOutOpt,
    console,
    fail,
    load_settings,
    open_engine,
)
from service.errors import ConfigurationError


def refuse_port_in_use(host: str, port: int) -> None:
    """One line instead of uvicorn's "[Errno 98]" when another server holds the port."""
    import errno
    import socket

    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                fail(
                    f"port {port} on {host} is already in use (another deadzone serve?): "
                    f"choose another with --port, e.g. --port {port + 1}"
                )
            fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}")


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="uvicorn worker processes; one of them also runs the background aggregation.",
        ),
    ] = 1,
    database_url: DatabaseOpt = None,
    demo: Annotated[
        bool,
        typer.Option(
            "--demo", help="Serve the database of `deadzone demo` in --out.", metavar=FLAG
        ),
    ] = False,
    out: DemoOutOpt = DEFAULT_DEMO_OUT,
) -> None:
    """Run the HTTP API (uvicorn). Upgrades the schema first."""
    import uvicorn

    from service.api.app import create_app, settings_to_environment

    settings = load_settings(database_url)
    if demo:
        from service.cli.demo import demo_serve_settings

        settings = demo_serve_settings(out, database_url)
    try:
        settings.enforce_safe_for_serving()
    except ConfigurationError as exc:
        fail(exc.message)
    with open_engine(settings, migrate=True):
        pass
    refuse_port_in_use(host, port)
    if demo:
        base = f"http://{host}:{port}"
        console.print(f"demo pages: {base}/progress  {base}/plan  {base}/report")
        console.print(f"demo maps: {base}/maps/coverage.html  {base}/maps/deadzones.html?sites=5  "
                      f"{base}/maps/progress.html")  # fmt: skip
    if workers == 1:
        uvicorn.run(create_app(settings), host=host, port=port, log_level="info")
        return
    # Several processes need an import string: each worker builds its own app from the
    # environment, which carries this command's settings (overrides and --demo included).
    os.environ.update(settings_to_environment(settings))
    if settings.rate_limit_shared_path is None:
        # The workers share their rate-limit counters, or each would allow the whole limit.
        shared = Path(tempfile.mkdtemp(prefix="deadzone-rate-limits-")) / "counters.sqlite"
        os.environ["DEADZONE_RATE_LIMIT_SHARED_PATH"] = str(shared)
    uvicorn.run(
        "service.api.app:create_app_from_environment",
        factory=True,
        workers=workers,
        host=host,
        port=port,
        log_level="info",
    )
