"""Commands for trust: audit verify/checkpoint/replay and personal-data erase/export/purge."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from flowengine.cli.app import app, fail
from flowengine.cli.operations import Actor, AsJson, echo_json, open_engine

if TYPE_CHECKING:
    from flowengine.trust import Finding

audit_app = typer.Typer(help="The tamper-evident history.", no_args_is_help=True)
personal_app = typer.Typer(help="Personal data under KVKK (Law 6698).", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
app.add_typer(personal_app, name="personal-data")

Ref = Annotated[str | None, typer.Argument(help="Reference number or instance id.")]
All = Annotated[bool, typer.Option("--all", help="Every instance.")]


def _target(ref: str | None, every: bool) -> str | None:
    if (ref is not None) != every:
        return ref
    raise fail("give a reference number or --all (not both)")


def _report(findings: list[Finding], what: str, as_json: bool) -> None:
    broken = [f for f in findings if f.problem]
    if as_json:
        echo_json([{"reference": f.reference, "problem": f.problem} for f in findings])
    else:
        for finding in broken:
            typer.echo(f"{finding.reference}: {finding.problem}")
        typer.echo(f"{len(findings)} instances {what}, {len(broken)} with problems", err=True)
    if broken:
        raise typer.Exit(1)


@audit_app.command("verify")
def audit_verify(
    ref: Ref = None,
    every: All = False,
    checkpoint_file: Annotated[
        Path | None, typer.Option("--checkpoint", help="Also compare with a saved checkpoint.")
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Check each history's hash chain; name the first edited, deleted or forged row."""
    from flowengine import trust

    with open_engine() as engine:
        findings = trust.verify(engine, _target(ref, every))
        if checkpoint_file is not None:
            try:
                saved = json.loads(checkpoint_file.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise fail(f"{checkpoint_file}: cannot read the checkpoint: {exc}") from None
            findings += trust.verify_checkpoint(engine, saved)
    _report(findings, "verified", as_json)


@audit_app.command("checkpoint")
def audit_checkpoint(
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write to a file.")] = None,
) -> None:
    """Print every chain's head: keep it outside the database to catch a cut tail."""
    from flowengine import trust

    with open_engine() as engine:
        heads = trust.checkpoint(engine)
    text = json.dumps(heads, ensure_ascii=False, indent=2)
    if output is None:
        typer.echo(text)
    else:
        output.write_text(text + "\n", encoding="utf-8")
        typer.echo(f"wrote {output} (digest {heads['digest'][:16]}…)", err=True)


@audit_app.command("replay")
def audit_replay(ref: Ref = None, every: All = False, as_json: AsJson = False) -> None:
    """Rebuild each instance from its history alone and report any difference."""
    from flowengine import trust

    with open_engine() as engine:
        findings = trust.replay(engine, _target(ref, every))
    _report(findings, "replayed", as_json)


@personal_app.command("erase")
def personal_erase(
    ref: Annotated[str, typer.Argument(help="Reference number or instance id.")],
    actor: Actor,
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded in the history).")],
) -> None:
    """Erase a case's personal data; the audit chain stays verifiable."""
    from flowengine import trust

    with open_engine() as engine:
        fields = trust.erase(engine, ref, actor, reason)
    typer.echo(f"{ref}: erased {', '.join(fields) or 'nothing (no personal data held)'}")


@personal_app.command("export")
def personal_export(
    ref: Annotated[str, typer.Argument(help="Reference number or instance id.")],
    actor: Actor,
) -> None:
    """The data subject's data as JSON (the right of access)."""
    from flowengine import trust

    with open_engine() as engine:
        echo_json(trust.export(engine, ref, actor))


@personal_app.command("find")
def personal_find(
    contact: Annotated[
        str, typer.Option("--contact", help="A name, e-mail address or phone number.")
    ],
    actor: Actor,
    as_json: AsJson = False,
) -> None:
    """Every case holding a person's data, for a KVKK request (then export or erase)."""
    from flowengine import trust

    with open_engine() as engine:
        found, skipped = trust.find(engine, contact, actor)
    if as_json:
        echo_json(
            {
                "instances": [
                    {
                        "reference": h.reference,
                        "flow": h.flow,
                        "status": h.status,
                        "started_at": h.started_at,
                        "fields": list(h.fields),
                    }
                    for h in found
                ],
                "flows_not_searched": skipped,
            }
        )
        return
    for h in found:
        typer.echo(f"{h.reference}\t{h.flow}\t{h.status}\t{h.started_at}\t{', '.join(h.fields)}")
    typer.echo(f"{len(found)} case(s) hold this person's data", err=True)
    if found:
        typer.echo(
            f"  each: flowengine personal-data export REF --as {actor}  |  "
            f"flowengine personal-data erase REF --as {actor} --reason …",
            err=True,
        )
    if skipped:
        typer.echo(
            f"  not searched (you may not see their personal data): {', '.join(skipped)}",
            err=True,
        )


@personal_app.command("purge")
def personal_purge(as_json: AsJson = False) -> None:
    """Erase personal data kept longer than each flow's privacy.retention after the end."""
    from flowengine import trust

    with open_engine() as engine:
        done = trust.purge(engine)
    if as_json:
        echo_json([{"reference": f.reference, "fields": f.problem} for f in done])
        return
    for finding in done:
        typer.echo(f"{finding.reference}: erased {finding.problem or 'nothing'}")
    typer.echo(f"{len(done)} instances past their retention period purged", err=True)
