"""`nrmc keys fingerprint|generate`: compare keys between sites without showing them."""

from __future__ import annotations

import secrets

import typer

from ..core import keys
from .context import settings

app = typer.Typer(help="Secret keys: fingerprints to compare between sites, and new random keys.",
                  no_args_is_help=True)


@app.command("fingerprint")
def fingerprint() -> None:
    """Print the fingerprints of NRMC_PSEUDONYM_KEY and NRMC_SECRET_KEY.

    Two sites whose pseudonym key fingerprints match pseudonymise patients alike, so their
    patient ids can be compared; the fingerprint reveals nothing of the key."""
    current = settings()
    typer.echo(f"pseudonym key  {keys.fingerprint(current.pseudonym_key)}")
    typer.echo(f"secret key     {keys.fingerprint(current.secret_key)}")


@app.command("generate")
def generate() -> None:
    """Print a new random key (64 characters) fit for NRMC_SECRET_KEY or NRMC_PSEUDONYM_KEY.

    Changing the pseudonym key of a site with loaded discharges makes new pseudonyms that do
    not match the old ones: choose it once, before the first load."""
    typer.echo(secrets.token_urlsafe(48))
