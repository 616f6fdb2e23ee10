"""The web face from the terminal: passwords, API tokens and ``flowengine serve``."""

from __future__ import annotations

import socket
import sys
from typing import Annotated

import typer

from flowengine.cli.app import app, fail
from flowengine.cli.operations import AsJson, echo_json, open_engine, people_app

tokens_app = typer.Typer(help="API tokens for integrations (bearer tokens).", no_args_is_help=True)
app.add_typer(tokens_app, name="tokens")


@people_app.command("set-password")
def people_set_password(
    person_id: Annotated[str, typer.Argument(help="Whose password.")],
    stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
) -> None:
    """Set the password a person logs in to the web inbox with (stored as an argon2 hash)."""
    from flowengine.accounts import Accounts

    if stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    with open_engine() as engine:
        Accounts(engine).set_password(person_id, password)
    typer.echo(f"{person_id}: password set")


@tokens_app.command("create")
def tokens_create(
    person_id: Annotated[str, typer.Option("--as", help="The person the token acts as.")],
    name: Annotated[str, typer.Option("--name", help="What uses it, e.g. 'e-devlet'.")],
) -> None:
    """Create a bearer token; it is printed once and only its hash is kept."""
    from flowengine.accounts import Accounts

    with open_engine() as engine:
        issued = Accounts(engine).create_token(person_id, name)
    typer.echo(
        f"token {issued.id} for {issued.person_id} ({issued.name}); keep it secret:", err=True
    )
    typer.echo(issued.text)


@tokens_app.command("list")
def tokens_list(
    person_id: Annotated[str | None, typer.Option("--as", help="Only this person's.")] = None,
    as_json: AsJson = False,
) -> None:
    """API tokens (never their secrets)."""
    from flowengine.accounts import Accounts

    with open_engine() as engine:
        tokens = Accounts(engine).tokens(person_id)
    if as_json:
        echo_json([t.__dict__ for t in tokens])
        return
    for token in tokens:
        state = f"revoked {token.revoked_at:%Y-%m-%d}" if token.revoked_at else "active"
        typer.echo(f"{token.id}  {token.person_id}  {token.name}  {state}")


@tokens_app.command("revoke")
def tokens_revoke(token_id: Annotated[str, typer.Argument(help="The token's id.")]) -> None:
    """Revoke a token at once; requests carrying it are refused from now on."""
    from flowengine.accounts import Accounts

    with open_engine() as engine:
        Accounts(engine).revoke_token(token_id)
    typer.echo(f"token {token_id} revoked")


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8000,
    secure_cookies: Annotated[
        bool,
        typer.Option(
            "--secure-cookies", help="Send the session cookie over HTTPS only (behind TLS)."
        ),
    ] = False,
    open311_flow: Annotated[
        str, typer.Option("--open311-flow", help="The flow Open311 requests start (its open311:).")
    ] = "bizim_masa",
    forwarded_allow_ips: Annotated[
        str | None,
        typer.Option(
            "--forwarded-allow-ips",
            help="Proxies trusted for X-Forwarded-For (the client address that "
            "login and /durum throttling count), e.g. 127.0.0.1.",
        ),
    ] = None,
) -> None:
    """Serve the REST API, Open311 intake, the staff inbox and the citizen status page."""
    try:
        import uvicorn

        from flowengine.web import create_app
    except ImportError as exc:  # pragma: no cover - the web extra is a core dependency
        raise fail(f"the web layer needs its packages ({exc.name}); reinstall flowengine") from None
    listening = _listen(host, port)  # taken before a word is said: a busy port is an error
    engine = open_engine()
    config = uvicorn.Config(
        create_app(engine, open311_flow=open311_flow, secure_cookies=secure_cookies),
        host=host,
        port=port,
        log_level="warning",
        proxy_headers=forwarded_allow_ips is not None,
        forwarded_allow_ips=forwarded_allow_ips,
    )
    typer.echo(f"flowengine: serving on http://{host}:{port}/ (Ctrl+C stops)", err=True)
    try:
        uvicorn.Server(config).run(sockets=[listening])
    finally:
        listening.close()
        engine.close()


def _listen(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` and listening, or a one-line error."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listening = socket.socket(family, socket.SOCK_STREAM)
    try:
        listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listening.bind((host, port))
        listening.listen(2048)
    except OSError as exc:
        listening.close()
        raise fail(
            f"cannot listen on {host}:{port} ({exc.strerror}); is another server running "
            "there? choose another with --port"
        ) from None
    return listening
