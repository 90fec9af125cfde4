"""/kb: moderators keep the answers current. Every change goes through KnowledgeStore, the same
code path as ``eln-bot kb``, is on disk before it is acknowledged, and is live at once."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import io
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.core.knowledge import Entry, KnowledgeError, Problem
from bot.core.text import clip
from bot.discord import render
from bot.discord.checks import is_moderator
from bot.discord.client import Interaction, QABot
from bot.discord.cogs.kb.forms import Confirm, EntryModal, Fields
from bot.discord.cogs.kb.unanswered import UnansweredView, unanswered_embed
from bot.discord.replies import AnyInteraction, send_private
from bot.errors import BotError, NotFoundError
from bot.storage.changes import Change
from bot.storage.schema import GLOBAL
from bot.storage.store import KnowledgeStore
from bot.storage.usage import UnansweredGroup

log = logging.getLogger(__name__)
IMPORT_MAX_BYTES = 2 * 1024 * 1024


def who(user: discord.abc.User) -> str:
    return f"{user.name} ({user.id})"


def describe_errors(exc: KnowledgeError) -> str:
    errors = [p for p in exc.problems if p.severity == "error"]
    lines = [f"• {clip(_where(p) + p.message, 300)}" for p in errors[:8]]
    if len(errors) > 8:
        lines.append(f"• …and {len(errors) - 8} more")
    return "Nothing was changed. The result would not be valid:\n" + "\n".join(lines)


def _where(problem: Problem) -> str:
    """``line 12, entry 'x', field 'answer': `` — the file path means nothing in Discord."""
    parts = [f"line {problem.line}"] if problem.line else []
    parts += [f"entry '{problem.entry}'"] if problem.entry else []
    parts += [f"field '{problem.field}'"] if problem.field else []
    return ", ".join(parts) + ": " if parts else ""


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class KBCog(commands.GroupCog, group_name="kb", group_description="Moderators: edit answers"):
    def __init__(self, bot: QABot) -> None:
        self.bot = bot
        super().__init__()

    async def interaction_check(self, interaction: AnyInteraction) -> bool:
        role = self.bot.guild_settings.get(interaction.guild_id).moderator_role
        return is_moderator(interaction, role)

    # --- shared plumbing ------------------------------------------------------------------

    def _scope(self, interaction: AnyInteraction) -> int | None:
        """Whose audit channel hears of a change here: the server's, or (home) the global."""
        guild = interaction.guild_id
        return None if self.bot.layers.scope_of(guild) == GLOBAL else guild

    async def _existing(self, interaction: Interaction, entry_id: str) -> Entry | None:
        """The entry being served under ``entry_id``; if none, the moderator is told so."""
        current = (await self.bot.knowledge_in(interaction.guild_id)).get(entry_id)
        if current is None:
            await send_private(interaction, f"No entry with id '{entry_id}'.")
        return current

    async def confirm(
        self,
        interaction: Interaction,
        question: str,
        verb: str,
        fn: Callable[..., Change],
        *args: Any,
    ) -> None:
        """Ask privately; on "yes", ``apply`` the change (its action named by ``verb``)."""

        async def yes(inter: AnyInteraction) -> None:
            await inter.response.edit_message(content=f"{verb.rstrip('e')}ing…", view=None)
            await self.apply(inter, verb.lower(), fn, *args)

        confirm = Confirm(interaction.user.id, yes, label=verb)
        await send_private(interaction, question, view=self.bot.menus.track(confirm))

    async def apply(
        self,
        interaction: AnyInteraction,
        action: str,
        fn: Callable[..., Change],
        *args: Any,
        resolves: UnansweredGroup | None = None,
    ) -> Change | None:
        """Run a store operation off the loop, make it live, audit it, and say what happened.

        ``fn(store, *args, by)`` is the store operation, run on the layer of the server the
        command came from (the global one in the home server); ``by`` names the moderator.
        ``resolves``: an unanswered group the change answers, marked handled before "Done".
        """
        by = who(interaction.user)
        try:
            change = await asyncio.to_thread(
                self.bot.layers.change,
                interaction.guild_id,
                lambda store: fn(store, *args, by),
            )
        except KnowledgeError as exc:
            await send_private(interaction, describe_errors(exc))
            return None
        except BotError as exc:
            await send_private(interaction, str(exc))
            return None
        if resolves is not None:
            with contextlib.suppress(NotFoundError):  # another moderator got there first
                await asyncio.to_thread(
                    self.bot.insights.resolve, resolves.key, where=interaction.guild_id
                )
        log.info(
            "kb %s by %s: change %d %s", action, interaction.user.id, change.id, change.summary
        )
        if self._scope(interaction) is None:
            self.bot.announced(change.id)
        summary = render.plain(change.summary)  # it quotes moderators' and members' words
        await self.bot.audit.post(
            f"📝 {interaction.user.mention} {summary} "
            f"(change #{change.id}; `/kb undo {change.id}` reverts it)",
            self._scope(interaction),
        )
        await send_private(
            interaction,
            f"Done: {summary} (change #{change.id}). It is live now; `/kb undo` reverts it.",
        )
        return change

    async def entry_autocomplete(
        self, interaction: Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        try:
            snapshot = (await self.bot.served(interaction.guild_id)).snapshot
            if current.strip():
                exact = [e for e in snapshot.knowledge.entries if e.id.startswith(current)]
                ranked = [c.entry for c in snapshot.matcher.rank(current[:200], 25)]
                entries = list(dict.fromkeys([*exact, *ranked]))[:25]
            else:
                entries = list(snapshot.knowledge.entries[:25])
            return [
                app_commands.Choice(name=clip(f"{e.id} — {e.question}", 100), value=e.id)
                for e in entries
            ]
        except Exception:
            log.exception("kb autocomplete failed")
            return []

    # --- commands -------------------------------------------------------------------------

    @app_commands.command(name="add", description="Add a new question and answer")
    async def add(self, interaction: Interaction) -> None:
        await interaction.response.send_modal(EntryModal(self._submit_add))

    async def _submit_add(self, interaction: AnyInteraction, fields: Fields) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        await self.apply(interaction, "add", KnowledgeStore.add, fields)

    @app_commands.command(name="edit", description="Edit an entry's question, answer or sources")
    @app_commands.describe(entry="The entry to edit")
    async def edit(self, interaction: Interaction, entry: str) -> None:
        current = await self._existing(interaction, entry)
        if current is None:
            return

        async def submit(inter: AnyInteraction, fields: Fields) -> None:
            await inter.response.defer(ephemeral=True, thinking=True)
            changed = {k: v for k, v in fields.items() if v != _current_value(current, k)}
            if not changed:
                await send_private(inter, "Nothing changed.")
                return
            await self.apply(inter, "edit", KnowledgeStore.edit, entry, changed)

        await interaction.response.send_modal(EntryModal(submit, entry=current))

    @app_commands.command(name="alias", description="Add another way of asking to an entry")
    @app_commands.describe(entry="The entry", phrase="How people ask it")
    async def alias(
        self,
        interaction: Interaction,
        entry: str,
        phrase: app_commands.Range[str, 1, 300],
    ) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        await self.apply(interaction, "alias", KnowledgeStore.alias, entry, phrase)

    @app_commands.command(name="remove", description="Retire an entry (can be undone)")
    @app_commands.describe(entry="The entry to remove")
    async def remove(self, interaction: Interaction, entry: str) -> None:
        current = await self._existing(interaction, entry)
        if current is None:
            return

        question = (
            f"Remove **{render.plain(clip(current.question, 300))}** (`{entry}`)? "
            "`/kb undo` can bring it back."
        )
        await self.confirm(interaction, question, "Remove", KnowledgeStore.remove, entry)

    @app_commands.command(name="history", description="Recent changes, for one entry or all")
    @app_commands.describe(entry="Only this entry")
    async def history(self, interaction: Interaction, entry: str | None = None) -> None:
        store = self.bot.layers.store_for(interaction.guild_id)
        changes = await asyncio.to_thread(store.history, entry, 15)
        lines = [
            f"`#{c.id}` {c.at[:16].replace('T', ' ')} "
            f"{render.plain(clip(c.by, 40))}: {render.plain(clip(c.summary, 160))}"
            for c in changes
        ]
        await send_private(interaction, "\n".join(lines) or "No changes yet.")

    @app_commands.command(name="undo", description="Undo the last change, or a given one")
    @app_commands.describe(change="Change number from /kb history (default: the last)")
    async def undo(
        self,
        interaction: Interaction,
        change: app_commands.Range[int, 1] | None = None,
    ) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        await self.apply(interaction, "undo", lambda store, by: store.undo(by, change))

    @app_commands.command(name="reload", description="Reload the knowledge from disk now")
    async def reload(self, interaction: Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        outcome = await asyncio.to_thread(self.bot.layers.reload, force=True)
        knowledge = await self.bot.knowledge_in(interaction.guild_id)
        text = render.reload_summary(outcome, len(knowledge.entries))
        await self.bot.audit.post(f"{interaction.user.mention}: {text}", self._scope(interaction))
        await send_private(interaction, text)

    @app_commands.command(name="export", description="Download the current knowledge as YAML")
    async def export(self, interaction: Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        store = self.bot.layers.store_for(interaction.guild_id)
        text = await asyncio.to_thread(store.export_yaml)
        file = discord.File(io.BytesIO(text.encode("utf-8")), filename="faq.yaml")
        await interaction.followup.send(
            "The shipped knowledge with every moderator edit:", file=file, ephemeral=True
        )

    @app_commands.command(name="import", description="Replace the knowledge with a YAML file")
    @app_commands.describe(file="A knowledge file, e.g. one from /kb export")
    async def import_(self, interaction: Interaction, file: discord.Attachment) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        if file.size > IMPORT_MAX_BYTES:
            await send_private(interaction, "That file is too large to be a knowledge file.")
            return
        try:
            text = (await file.read()).decode("utf-8")
            store = self.bot.layers.store_for(interaction.guild_id)
            plan = await asyncio.to_thread(store.plan_import, text, file.filename)
        except UnicodeDecodeError:
            await send_private(interaction, "That file is not UTF-8 text.")
            return
        except KnowledgeError as exc:
            await send_private(
                interaction,
                describe_errors(exc).replace(
                    "The result would not be valid", f"`{file.filename}` is not valid"
                ),
            )
            await self.bot.audit.post(
                f"⚠️ {interaction.user.mention} tried to import an invalid "
                f"file `{clip(file.filename, 80)}`.",
                self._scope(interaction),
            )
            return
        except (OSError, discord.HTTPException, BotError) as exc:
            await send_private(interaction, f"Could not read that file: {exc}")
            return
        if plan.empty:
            await send_private(
                interaction, "That file matches the current knowledge; nothing to do."
            )
            return

        question = f"Importing `{clip(file.filename, 80)}` would make {plan.summary()}. Go ahead?"
        await self.confirm(interaction, question, "Import", KnowledgeStore.apply_import, plan)

    @app_commands.command(name="unanswered", description="Questions I could not answer")
    async def unanswered(self, interaction: Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        where = interaction.guild_id
        groups = await asyncio.to_thread(self.bot.insights.unanswered, 10, where=where)
        view = self.bot.menus.track(
            UnansweredView(
                interaction.user.id,
                groups,
                await self.bot.knowledge_in(where),
                self._attach,
                self._add_for,
            )
        )
        await interaction.edit_original_response(embed=unanswered_embed(groups), view=view)

    async def _attach(
        self, interaction: AnyInteraction, group: UnansweredGroup, entry_id: str
    ) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        await self.apply(
            interaction,
            "alias",
            KnowledgeStore.alias,
            entry_id,
            group.example,
            resolves=group,
        )

    async def _add_for(self, interaction: AnyInteraction, group: UnansweredGroup) -> None:
        async def submit(inter: AnyInteraction, fields: Fields) -> None:
            await inter.response.defer(ephemeral=True, thinking=True)
            await self.apply(inter, "add", KnowledgeStore.add, fields, resolves=group)

        await interaction.response.send_modal(EntryModal(submit, question=group.example))

    @app_commands.command(name="stats", description="Most asked, least helpful, decline rate")
    @app_commands.describe(days="Look back this many days (default 30)")
    async def stats(
        self, interaction: Interaction, days: app_commands.Range[int, 1, 3650] = 30
    ) -> None:
        since = datetime.now(UTC) - timedelta(days=days)
        stats = await asyncio.to_thread(
            functools.partial(self.bot.insights.stats, since, where=interaction.guild_id)
        )
        asked = "\n".join(f"`{e}` — {n}" for e, n in stats.most_asked) or "none yet"
        unhelpful = (
            "\n".join(
                f"`{v.entry}` — 👎 {v.unhelpful} / 👍 {v.helpful}" for v in stats.least_helpful
            )
            or "no votes yet"
        )
        embed = discord.Embed(title=f"The last {days} day(s)", colour=render.COLOUR_INFO)
        embed.add_field(
            name="Questions",
            value=f"{stats.questions} asked, {stats.answered} "
            f"answered, {stats.decline_rate:.0%} declined",
            inline=False,
        )
        embed.add_field(name="Most asked", value=clip(asked, 1024), inline=False)
        embed.add_field(name="Least helpful", value=clip(unhelpful, 1024), inline=False)
        await interaction.response.send_message(embed=embed, ephemeral=True)

    for _command in (edit, alias, remove, history):
        _command.autocomplete("entry")(entry_autocomplete)
    del _command


def _current_value(entry: Entry, name: str) -> Any:
    if name == "sources":
        return [{"title": s.title, "url": s.url} for s in entry.sources]
    value = getattr(entry, name, None)
    return list(value) if isinstance(value, tuple) else value
