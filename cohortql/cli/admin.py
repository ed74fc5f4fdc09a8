"""`cohortql admin ...`: the deployment's policy floor and the redaction of stored credentials (admins only)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from cohortql.cli.common import command_group, fail
from cohortql.cli.governance import StoreOption, UserOption, governed

# The store and its libraries are imported by each command, so that the command line starts quickly.

admin_app = command_group("Deployment settings kept in the governance store (admins only).")
policy_app = command_group("The disclosure policy floor every request must meet.")
admin_app.add_typer(policy_app, name="policy")


@admin_app.command("redact")
def admin_redact(store: StoreOption = None, user: UserOption = None) -> None:
    """Strip credentials from engine descriptions already stored (a chained `redacted` record says what)."""
    from cohortql.governance import identity
    from cohortql.governance.redaction import redact_store

    with governed(store) as opened:
        done = redact_store(opened, identity.acting_user(user))
    if done.record is None:
        print("nothing to redact: no stored engine description holds a credential")
        return
    print(f"redacted {len(done.records)} audit records and {len(done.requests)} requests "
          f"(audit record {done.record.seq})")


@policy_app.command("set")
def admin_policy_set(
    threshold: Annotated[int, typer.Option("--threshold", help="k: counts from 1 to k-1 are never released.")] = 10,
    suppress_zero: Annotated[bool, typer.Option("--suppress-zero/--show-zero", help="Treat 0 as small.")] = False,
    rounding_base: Annotated[int | None, typer.Option("--rounding-base", help="Round released counts.")] = None,
    complementary: Annotated[bool, typer.Option(
        "--complementary/--no-complementary", help="Complementary suppression.")] = True,
    attrition_differences: Annotated[bool, typer.Option(
        "--attrition-differences/--no-attrition-differences", help="Protect persons removed by each rule.")] = True,
    allow_looser_profiles: Annotated[bool, typer.Option(
        "--allow-looser-profiles/--no-looser-profiles",
        help="May an insider's own count run under a looser profile (releases never may).")] = False,
    store: StoreOption = None, user: UserOption = None,
) -> None:
    """Set the deployment's disclosure policy floor (admins only; recorded in the audit chain)."""
    from cohortql.governance import floor, identity
    from cohortql.protect import DisclosurePolicy, PolicyError

    try:
        policy = DisclosurePolicy(threshold, suppress_zero, rounding_base, complementary, attrition_differences)
    except PolicyError as error:
        raise fail(str(error), code=2) from None
    with governed(store) as opened:
        floor.set_floor(opened, identity.acting_user(user), policy, allow_looser_profiles)
    print(f"policy floor set: {policy.describe()}"
          + ("; looser user profiles allowed for insiders' own counts" if allow_looser_profiles else ""))


@policy_app.command("show")
def admin_policy_show(store: StoreOption = None) -> None:
    """Print the deployment's disclosure policy floor and who set it."""
    from cohortql.governance import floor

    with governed(store) as opened, opened.reading() as session:
        current = floor.current(session)
    print(json.dumps({"source": current.source, "allow_looser_profiles": current.allow_looser_profiles,
                      "policy": current.policy.to_dict()}, indent=2))
