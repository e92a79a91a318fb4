"""The fake's file upload: ``rooms.media/{rid}`` then ``rooms.mediaConfirm/{rid}/{fileId}``, driven by the real
third-party client (``rocketchat_API``'s ``rooms_media`` / ``rooms_media_confirm``), validated against the OpenAPI
files (the ``fake_rc`` fixture fails a test on any violation)."""

from __future__ import annotations

import asyncio
from typing import Any

from rocketchat_API.APIExceptions.RocketExceptions import RocketApiException
from rocketchat_API.rocketchat import RocketChat as RocketChatAPI

from tests.fakerc import FakeRocketChat
from tests.fakerc.fixtures import fake_rc  # noqa: F401

CSV = "\ufeffdate;membre;montant\r\n2026-11-02;alice;30,00\r\n".encode()


def _api(fake: FakeRocketChat) -> RocketChatAPI:
    return RocketChatAPI("bot", "bot-password", server_url=fake.url)


async def test_upload_is_pending_until_confirmed_then_posted_with_the_file(fake_rc: FakeRocketChat) -> None:  # noqa: F811
    room = fake_rc.store.room("cercle-tech")
    parent = await fake_rc.post_as("alice", "cercle-tech", "/contrib export")

    def upload() -> dict[str, Any]:
        return _api(fake_rc).rooms_media(room.id, ("contributions-2026.csv", CSV, "text/csv"))

    uploaded = await asyncio.to_thread(upload)
    file_id = uploaded["file"]["_id"]
    assert uploaded["success"] is True and uploaded["file"]["url"] == f"/file-upload/{file_id}/contributions-2026.csv"
    assert fake_rc.store.uploads[file_id]["content"] == CSV  # bytes kept exactly (BOM, ';', CRLF)
    assert fake_rc.messages_in("cercle-tech", by="bot") == []  # nothing posted before the confirmation

    def confirm() -> dict[str, Any]:
        return _api(fake_rc).rooms_media_confirm(
            room.id, file_id, msg="Export 2026 : 1 ligne", tmid=parent["_id"], description="CSV"
        )

    confirmed = (await asyncio.to_thread(confirm))["message"]
    posted = fake_rc.messages_in("cercle-tech", by="bot")
    assert [m["_id"] for m in posted] == [confirmed["_id"]]
    message = posted[0]
    assert message["msg"] == "Export 2026 : 1 ligne" and message["tmid"] == parent["_id"]
    assert message["file"] == {"_id": file_id, "name": "contributions-2026.csv", "type": "text/csv", "size": len(CSV)}
    assert message["files"] == [message["file"]]
    assert message["attachments"][0]["title_link"] == uploaded["file"]["url"]
    assert message["attachments"][0]["description"] == "CSV"
    assert fake_rc.store.uploads[file_id]["expiresAt"] is None
    assert fake_rc.store.messages[parent["_id"]]["tcount"] == 1


async def test_confirming_twice_posts_twice_as_rocket_chat_does(fake_rc: FakeRocketChat) -> None:  # noqa: F811
    room = fake_rc.store.room("cercle-tech-prive")

    def run() -> None:
        api = _api(fake_rc)
        file_id = api.rooms_media(room.id, ("a.csv", CSV, "text/csv"))["file"]["_id"]
        api.rooms_media_confirm(room.id, file_id, msg="un")
        api.rooms_media_confirm(room.id, file_id, msg="deux")

    await asyncio.to_thread(run)
    assert [m["msg"] for m in fake_rc.messages_in("cercle-tech-prive", by="bot")] == ["un", "deux"]


async def test_media_errors_as_rocket_chat_answers_them(fake_rc: FakeRocketChat) -> None:  # noqa: F811
    room = fake_rc.store.room("cercle-tech")
    fake_rc.add_group("secret", ["alice"])
    secret = fake_rc.store.room("secret")

    def run() -> dict[str, Any]:
        api = _api(fake_rc)
        seen: dict[str, Any] = {}
        for name, call in {
            "unknown file": lambda: api.rooms_media_confirm(room.id, "0" * 24, msg="x"),
            "not a member": lambda: api.rooms_media(secret.id, ("a.csv", CSV, "text/csv")),
            "bad key": lambda: api.rooms_media_confirm(
                room.id, api.rooms_media(room.id, ("a.csv", CSV, "text/csv"))["file"]["_id"], _id="mine"
            ),
        }.items():
            try:
                call()
            except RocketApiException as error:
                seen[name] = (error.status_code, (error.response_json or {}).get("errorType"))
        return seen

    seen = await asyncio.to_thread(run)
    assert seen["unknown file"] == (400, "invalid-file")
    assert seen["not a member"][0] == 403
    assert seen["bad key"][0] == 400
    assert fake_rc.messages_in("cercle-tech", by="bot") == []


async def test_expired_upload_is_refused(fake_rc: FakeRocketChat) -> None:  # noqa: F811
    room = fake_rc.store.room("cercle-tech")

    def upload() -> str:
        return str(_api(fake_rc).rooms_media(room.id, ("a.csv", CSV, "text/csv"))["file"]["_id"])

    file_id = await asyncio.to_thread(upload)
    fake_rc.store.uploads[file_id]["expired"] = True

    def confirm() -> int:
        try:
            _api(fake_rc).rooms_media_confirm(room.id, file_id, msg="x")
        except RocketApiException as error:
            return int(error.status_code)
        return 200

    assert await asyncio.to_thread(confirm) == 400
    assert fake_rc.messages_in("cercle-tech", by="bot") == []
