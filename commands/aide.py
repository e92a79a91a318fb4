"""`/aide`: the commands and their examples, generated from the same declarations the parser uses."""

from __future__ import annotations

from chatbot.commandkit import CommandGroup, Permission, opt
from chatbot.context import Context
from chatbot.errors import UsageError
from chatbot.grammar.arguments import CommandNameConverter

group = CommandGroup("aide", aliases=("help", "aider", "?"))


@group.command(args=(opt("command", CommandNameConverter()),))
async def show_help(ctx: Context, command: str | None) -> None:
    router = ctx.router
    groups = router.groups
    if command is None:
        lines = [ctx.t("help.header")]
        for g in groups:
            default = g.default or g.commands[0]
            examples = router.examples(default)
            lines.append(
                ctx.t(
                    "help.overview_line",
                    name=g.name,
                    summary=ctx.t(f"help.{g.name}.summary"),
                    example=examples[0] if examples else f"/{g.name}",
                )
            )
        lines.append(ctx.t("help.footer"))
        lines.append(_source_line(ctx))
        ctx.reply("\n".join(lines))
        return
    chosen = next((g for g in groups if command in g.words), None)
    if chosen is None:
        raise UsageError("help_unknown", given=command, suggestions=[f"/{s}" for s in router.suggest(command)])
    lines = [ctx.t("help.group_header", name=chosen.name, summary=ctx.t(f"help.{chosen.name}.summary"))]
    if chosen.aliases:
        lines.append(ctx.t("help.aliases", aliases=", ".join(f"/{a}" for a in chosen.aliases if a != "?")))
    for cmd in chosen.commands:
        if not _may_see(cmd.permission, is_admin=ctx.is_admin, is_treasurer=ctx.is_treasurer):
            continue
        admin = " " + ctx.t(f"help.{cmd.permission.value}_mark") if cmd.permission is not Permission.MEMBER else ""
        lines.append(f"• `{router.usage(cmd)}`{admin} — {ctx.t(cmd.help_key + '.text')}")
        lines += [f"    `{example}`" for example in router.examples(cmd)]
    lines += _phrasings(ctx, chosen)
    ctx.reply("\n".join(lines))


def _source_line(ctx: Context) -> str:
    """Where the source is (AGPL-3.0 §13: a network service offers its source to the users it serves)."""
    url = ctx.settings.source_url
    return ctx.t("help.source_code.known", url=url) if url else ctx.t("help.source_code.missing")


def _may_see(permission: Permission, *, is_admin: bool, is_treasurer: bool) -> bool:
    """`/aide` lists the commands its reader may use."""
    if permission is Permission.ADMIN:
        return is_admin
    if permission is Permission.TREASURER:
        return is_treasurer
    return True


def phrasing_labels(chosen: CommandGroup, *, is_admin: bool, is_treasurer: bool = False) -> list[str]:
    """The kinds of value the family's commands read (`quantity`, `date`, `when`…), in the order they are declared."""
    labels: list[str] = []
    for cmd in chosen.commands:
        if not _may_see(cmd.permission, is_admin=is_admin, is_treasurer=is_treasurer):
            continue
        rest = (cmd.rest.label, *getattr(cmd.rest.converter, "reads", ())) if cmd.rest else ()
        for label in (*(arg.label for arg in cmd.args), *rest):
            if label not in labels:
                labels.append(label)
    return labels


def _phrasings(ctx: Context, chosen: CommandGroup) -> list[str]:
    """How each kind of value may be written: the phrasings the grammar reads (`phrasings.<label>`)."""
    lines = [
        ctx.t("help.phrasing_line", name=ctx.t(f"labels.{label}"), phrasings=", ".join(f"`{p}`" for p in phrasings))
        for label in phrasing_labels(chosen, is_admin=ctx.is_admin, is_treasurer=ctx.is_treasurer)
        if (phrasings := ctx.t.strings(f"phrasings.{label}"))
    ]
    return [ctx.t("help.phrasings_header"), *lines] if lines else []
