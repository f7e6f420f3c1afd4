"""The store on each backend: migrations, secrets at rest, tenancy of queries, keyset paging."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from backchannel.chat.errors import InvalidParameterError
from backchannel.store import accounts, keys, services
from backchannel.store.paging import Cursor
from backchannel.store.tables import accounts as accounts_table
from backchannel.store.tables import api_keys as api_keys_table


def run(coro):
    return asyncio.run(coro)


def test_migrations_apply_twice_without_change(store_factory):
    async def scenario():
        async with store_factory() as store:
            await store.migrate()
            await store.ping()

    run(scenario())


def test_secrets_are_not_stored_in_clear_and_not_in_reprs(store_factory):
    async def scenario():
        async with store_factory() as store:
            async with store.transaction() as conn:
                account = await accounts.create_account(conn, "a")
                key = await keys.create_key(conn, store.box, account.account.sid, "k")
                token_hash = (
                    await conn.execute(
                        select(accounts_table.c.auth_token_hash).where(
                            accounts_table.c.sid == account.account.sid
                        )
                    )
                ).scalar_one()
                stored_secret = (
                    await conn.execute(
                        select(api_keys_table.c.secret_encrypted).where(
                            api_keys_table.c.sid == key.key.sid
                        )
                    )
                ).scalar_one()
                signing = await keys.signing_key(conn, store.box, key.key.sid)
            return account, key, token_hash, stored_secret, signing

    account, key, token_hash, stored_secret, signing = run(scenario())
    assert account.auth_token not in token_hash
    assert key.secret.encode() not in bytes(stored_secret)
    assert signing.secret == key.secret
    for shown in (repr(account), repr(key), repr(signing)):
        assert account.auth_token not in shown
        assert key.secret not in shown


def test_authentication_checks_the_token_and_the_secret(store_factory):
    async def scenario():
        async with store_factory() as store, store.transaction() as conn:
            account = await accounts.create_account(conn, "a")
            key = await keys.create_key(conn, store.box, account.account.sid)
            sid = account.account.sid
            return (
                await accounts.authenticate_account(conn, sid, account.auth_token),
                await accounts.authenticate_account(conn, sid, "0" * 32),
                await keys.authenticate_key(conn, store.box, key.key.sid, key.secret),
                await keys.authenticate_key(conn, store.box, key.key.sid, key.secret + "x"),
                await keys.delete_key(conn, sid, key.key.sid),
                await keys.signing_key(conn, store.box, key.key.sid),
            )

    ok, wrong_token, key_account, wrong_secret, deleted, after_delete = run(scenario())
    assert ok is not None and wrong_token is None
    assert key_account == ok.sid and wrong_secret is None
    assert deleted is True and after_delete is None


def test_services_are_scoped_to_their_account(store_factory):
    async def scenario():
        async with store_factory() as store, store.transaction() as conn:
            one = await accounts.create_account(conn, "one")
            two = await accounts.create_account(conn, "two")
            service = await services.create_service(conn, one.account.sid, "s")
            return (
                await services.get_service(conn, two.account.sid, service["sid"]),
                await services.delete_service(conn, two.account.sid, service["sid"]),
                await services.get_service(conn, one.account.sid, service["sid"]),
            )

    foreign, foreign_delete, own = run(scenario())
    assert foreign is None and foreign_delete is False and own is not None


def test_pages_walk_forwards_and_backwards(store_factory):
    async def scenario():
        async with store_factory() as store, store.transaction() as conn:
            account = await accounts.create_account(conn, "p")
            sid = account.account.sid
            created = [(await services.create_service(conn, sid, f"s{i}"))["sid"] for i in range(5)]
            first, page1 = await services.list_services(conn, sid, size=2)
            second, page2 = await services.list_services(conn, sid, size=2, cursor=page1.next)
            third, page3 = await services.list_services(conn, sid, size=2, cursor=page2.next)
            back, _ = await services.list_services(conn, sid, size=2, cursor=page2.previous)
            return created, first, second, third, page1, page3, back

    created, first, second, third, page1, page3, back = run(scenario())
    sids = [[s["sid"] for s in page] for page in (first, second, third, back)]
    assert sids == [created[:2], created[2:4], created[4:], created[:2]]
    assert page1.previous is None and page3.next is None


@pytest.mark.parametrize("token", ["", "PT", "PT!!", "XXabc", "PT" + "A" * 80, "PTRg"])
def test_malformed_page_tokens_are_invalid_parameters(token):
    with pytest.raises(InvalidParameterError):
        Cursor.from_token(token)


def test_page_tokens_round_trip():
    for cursor in (Cursor(1), Cursor(12345, backwards=True)):
        assert Cursor.from_token(cursor.token()) == cursor
