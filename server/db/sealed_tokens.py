"""The database's side of sealed tokens (server/token_vault.py): which key its tokens are sealed with, and sealing
the tokens that were stored in plain text.

Both run when a node starts, after the migrations: a node whose key is not the database's refuses to start (every
candidate would otherwise be refused on it, with nothing in its log to say why), and the first node with the key
seals what an older version stored.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from server.db.tables import InterviewRow, InvitationRow, TokenKeyRow
from server.token_vault import CANDIDATE, INVITATION, OBSERVER, SEALED_PREFIX, TokenKeyError, TokenVault

_ROW = 1  # the one row of token_key


async def adopt_key(engine: AsyncEngine, vault: TokenVault) -> None:
    """Record the vault's key as the database's when it has none yet; raise TokenKeyError when it has another."""
    session = async_sessionmaker(engine, expire_on_commit=False)
    try:
        async with session() as s, s.begin():
            row = await s.get(TokenKeyRow, _ROW)
            if row is None:
                s.add(TokenKeyRow(id=_ROW, fingerprint=vault.fingerprint))
                return
    except IntegrityError:  # another node recorded its key between our read and our write
        async with session() as s:
            row = await s.get(TokenKeyRow, _ROW)
    if row is not None and row.fingerprint != vault.fingerprint:
        raise TokenKeyError(
            "this node's token key is not the one the database's interview and invitation tokens are sealed with: "
            "give every node the same SHANMIAN_TOKEN_KEY (or the same data_dir/token.key)"
        )


async def seal_plain_tokens(engine: AsyncEngine, vault: TokenVault) -> int:
    """Seal every token still stored in plain text; how many rows were sealed."""
    session = async_sessionmaker(engine, expire_on_commit=False)
    plain_interview = (InterviewRow.candidate_token.not_like(f"{SEALED_PREFIX}%")) | (
        InterviewRow.observer_token.not_like(f"{SEALED_PREFIX}%")
    )
    sealed = 0
    async with session() as s, s.begin():
        interviews = (
            await s.execute(
                select(InterviewRow.id, InterviewRow.candidate_token, InterviewRow.observer_token).where(
                    plain_interview
                )
            )
        ).all()
        for iid, candidate, observer in interviews:
            values = {
                "candidate_token": _sealed(vault, CANDIDATE, iid, candidate),
                "observer_token": _sealed(vault, OBSERVER, iid, observer),
            }
            await s.execute(update(InterviewRow).where(InterviewRow.id == iid).values(**values))
        invitations = (
            await s.execute(
                select(InvitationRow.id, InvitationRow.token).where(InvitationRow.token.not_like(f"{SEALED_PREFIX}%"))
            )
        ).all()
        for inv_id, token in invitations:
            await s.execute(
                update(InvitationRow)
                .where(InvitationRow.id == inv_id)
                .values(token=vault.seal(INVITATION, inv_id, token))
            )
        sealed = len(interviews) + len(invitations)
    return sealed


def _sealed(vault: TokenVault, purpose: str, row_id: str, stored: str) -> str:
    return stored if stored.startswith(SEALED_PREFIX) else vault.seal(purpose, row_id, stored)
