"""Messaging over REST, on SQLite and PostgreSQL: ordering, idempotency, history, receipts and
unread counts, membership following the care team and consent, attachments, edits and
retractions, encryption at rest and key rotation, the push outbox, the audit trail."""

import base64
import uuid
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, text

from backend.core.config import Settings
from backend.core.crypto import new_key
from backend.core.db import Database
from backend.messaging.models import Attachment, Message, MessageRevision
from backend.messaging.rekey import reencrypt
from backend.notifications.models import Notification, PushJob
from shared.enums import GrantScope, Role
from tests import factories as f
from tests.backend.access_helpers import assert_error, audit_entries
from tests.backend.scenario import World, build_world
from tests.conftest import make_settings

PLAINTEXT = "My sugar was 312 this morning and my feet are numb"


@pytest.fixture
async def world(db: Database) -> World:
    world = await build_world(db)
    await f.sync_conversations(db, world.patient)
    return world


async def thread_of(client: httpx.AsyncClient, world: World, headers: dict) -> dict:
    response = await client.get(f"/patients/{world.patient.id}/care-team-thread", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def send(client, conversation_id, headers, body="Hello", client_id=None, **extra):
    payload = {"client_id": client_id or f"c-{uuid.uuid4().hex[:12]}", "body": body, **extra}
    return await client.post(
        f"/conversations/{conversation_id}/messages", json=payload, headers=headers
    )


async def group(client, world: World, creator_headers, members, subject="Foot care") -> dict:
    response = await client.post(
        "/conversations",
        json={
            "patient_id": str(world.patient.id),
            "kind": "group",
            "subject": subject,
            "member_ids": [str(m.id) for m in members],
        },
        headers=creator_headers,
    )
    assert response.status_code == 201, response.text
    return response.json()


# --- ordering, idempotency, history ----------------------------------------------------------


async def test_care_team_thread_holds_team_patient_and_family_with_messages_grant(
    client: httpx.AsyncClient, world: World, as_
) -> None:
    thread = await thread_of(client, world, await as_(world.patient_user))
    members = {m["user_id"] for m in thread["members"]}
    expected = [world.patient_user, world.care_manager, world.navigator, world.clinician]
    assert members == {str(u.id) for u in [*expected, world.family_full]}
    assert str(world.family_limited.id) not in members  # grant without messages
    assert str(world.family_expired.id) not in members
    assert thread["kind"] == "care_team" and thread["patient_name"] == "Rosa Patient"


async def test_seq_only_increases_and_a_retried_send_stores_nothing_new(
    client: httpx.AsyncClient, world: World, as_, db: Database
) -> None:
    patient = await as_(world.patient_user)
    thread = await thread_of(client, world, patient)
    seqs = []
    for n in range(3):
        response = await send(
            client, thread["id"], patient, f"message {n}", client_id=f"client-seq-{n}"
        )
        assert response.status_code == 201, response.text
        seqs.append(response.json()["seq"])
    assert seqs == [1, 2, 3]

    retry = await send(client, thread["id"], patient, "message 1", client_id="client-seq-1")
    assert retry.status_code == 200
    assert retry.json()["seq"] == 2 and retry.json()["body"] == "message 1"
    async with db.session() as session:
        assert await session.scalar(select(func.count()).select_from(Message)) == 3

    nurse = await send(client, thread["id"], await as_(world.navigator), "from the navigator")
    assert nurse.json()["seq"] == 4
    # The same client_id from another person is another message.
    other = await send(
        client, thread["id"], await as_(world.care_manager), "x", client_id="client-seq-1"
    )
    assert other.status_code == 201 and other.json()["seq"] == 5


async def test_history_reads_back_in_pages_with_a_cursor(
    client: httpx.AsyncClient, world: World, as_
) -> None:
    patient = await as_(world.patient_user)
    thread = await thread_of(client, world, patient)
    for n in range(7):
        await send(client, thread["id"], patient, f"m{n + 1}")
    pages, before = [], None
    for _ in range(5):
        params = {"limit": 3} | ({"before": before} if before else {})
        response = await client.get(
            f"/conversations/{thread['id']}/messages", params=params, headers=patient
        )
        page = response.json()
        pages.append([m["seq"] for m in page["data"]])
        before = page["next_cursor"]
        if before is None:
            break
    assert pages == [[5, 6, 7], [2, 3, 4], [1]]


async def test_resync_returns_what_was_missed_in_order_and_changes_to_older_messages(
    client: httpx.AsyncClient, world: World, as_
) -> None:
    patient, navigator = await as_(world.patient_user), await as_(world.navigator)
    thread = await thread_of(client, world, patient)
    sent = [(await send(client, thread["id"], navigator, f"n{n}")).json() for n in range(6)]
    await client.patch(
        f"/conversations/{thread['id']}/messages/{sent[1]['id']}",
        json={"body": "n1, corrected"},
        headers=navigator,
    )
    resync = await client.get(
        f"/conversations/{thread['id']}/resync", params={"seq": 3, "change": 0}, headers=patient
    )
    body = resync.json()
    assert [m["seq"] for m in body["messages"]] == [4, 5, 6]
    assert [(m["seq"], m["body"], m["state"]) for m in body["changed"]] == [
        (2, "n1, corrected", "edited")
    ]
    assert body["last_seq"] == 6 and body["last_change"] == 1 and body["has_more"] is False
    again = await client.get(
        f"/conversations/{thread['id']}/resync", params={"seq": 6, "change": 1}, headers=patient
    )
    assert again.json()["messages"] == [] and again.json()["changed"] == []


# --- receipts and unread counts --------------------------------------------------------------


async def unread_for(client, headers, conversation_id) -> int:
    listing = await client.get("/conversations", headers=headers)
    return next(c["unread"] for c in listing.json()["data"] if c["id"] == conversation_id)


async def test_unread_counts_and_read_pointers_stay_right_in_a_group(
    client: httpx.AsyncClient, world: World, as_
) -> None:
    patient, navigator, manager = (
        await as_(world.patient_user),
        await as_(world.navigator),
        await as_(world.care_manager),
    )
    conversation = await group(client, world, navigator, [world.patient_user, world.care_manager])
    cid = conversation["id"]
    await send(client, cid, navigator, "one")
    await send(client, cid, navigator, "two")
    assert await unread_for(client, patient, cid) == 2
    await send(client, cid, patient, "three")  # replying means having read what came before
    assert await unread_for(client, patient, cid) == 0
    assert await unread_for(client, manager, cid) == 3
    assert await unread_for(client, navigator, cid) == 1  # their own messages are not unread

    read = await client.post(f"/conversations/{cid}/read", json={"seq": 2}, headers=manager)
    assert read.status_code == 204
    assert await unread_for(client, manager, cid) == 1
    # Never backwards, never past the newest message.
    await client.post(f"/conversations/{cid}/read", json={"seq": 1}, headers=manager)
    await client.post(f"/conversations/{cid}/read", json={"seq": 99}, headers=patient)
    detail = (await client.get(f"/conversations/{cid}", headers=navigator)).json()
    pointers = {m["full_name"]: m["read_seq"] for m in detail["members"]}
    assert pointers == {"Cara Manager": 2, "Rosa Patient": 3, "Nate Navigator": 2}
    assert await unread_for(client, patient, cid) == 0


# --- who is in, who is out -------------------------------------------------------------------


async def test_people_outside_a_conversation_are_refused_and_the_refusal_is_audited(
    client: httpx.AsyncClient, world: World, as_, db: Database
) -> None:
    navigator = await as_(world.navigator)
    conversation = await group(client, world, navigator, [world.patient_user])
    cid = conversation["id"]
    # On the team but not in this group: told so. Not entitled at all: it does not exist.
    clinician = await client.get(
        f"/conversations/{cid}/messages", headers=await as_(world.clinician)
    )
    assert_error(clinician, 403)
    for outsider in (world.family_limited, world.family_expired, world.other_staff, world.admin):
        response = await client.get(f"/conversations/{cid}/messages", headers=await as_(outsider))
        assert_error(response, 404)
        posted = await send(client, cid, await as_(outsider), "let me in")
        assert_error(posted, 404)
    unknown = await client.get(f"/conversations/{uuid.uuid4()}", headers=navigator)
    assert_error(unknown, 404)
    denied = await audit_entries(db, action="conversation.access_denied")
    assert len(denied) >= 9 and {e.outcome for e in denied} == {"denied"}


async def test_a_removed_member_loses_the_conversation_at_once(
    client: httpx.AsyncClient, world: World, as_
) -> None:
    navigator, patient = await as_(world.navigator), await as_(world.patient_user)
    conversation = await group(client, world, navigator, [world.patient_user, world.care_manager])
    cid = conversation["id"]
    await send(client, cid, navigator, "before")
    removed = await client.delete(
        f"/conversations/{cid}/members/{world.care_manager.id}", headers=navigator
    )
    assert removed.status_code == 204
    assert_error(
        await client.get(f"/conversations/{cid}/messages", headers=await as_(world.care_manager)),
        403,
    )
    assert cid not in {
        c["id"]
        for c in (await client.get("/conversations", headers=await as_(world.care_manager))).json()[
            "data"
        ]
    }
    # The patient may leave; a patient may not remove someone else.
    assert_error(
        await client.delete(f"/conversations/{cid}/members/{world.navigator.id}", headers=patient),
        403,
    )
    assert (
        await client.delete(
            f"/conversations/{cid}/members/{world.patient_user.id}", headers=patient
        )
    ).status_code == 204
    # Adding back is the care team's call, and only for people entitled to the messages.
    assert_error(
        await client.post(
            f"/conversations/{cid}/members",
            json={"user_id": str(world.family_limited.id)},
            headers=navigator,
        ),
        422,
        "not_eligible",
    )
    back = await client.post(
        f"/conversations/{cid}/members",
        json={"user_id": str(world.care_manager.id)},
        headers=navigator,
    )
    assert back.status_code == 200
    assert (
        await client.get(f"/conversations/{cid}/messages", headers=await as_(world.care_manager))
    ).status_code == 200


async def test_conversations_follow_the_care_team_and_the_patients_grants(
    client: httpx.AsyncClient, world: World, as_, db: Database
) -> None:
    manager, patient = await as_(world.care_manager), await as_(world.patient_user)
    thread = await thread_of(client, world, patient)
    conversation = await group(client, world, manager, [world.navigator, world.family_full])
    newcomer = await f.create_user(db, world.org, Role.navigator, name="Nia Newcomer")
    joined = await client.post(
        f"/patients/{world.patient.id}/care-team",
        json={"user_id": str(newcomer.id), "team_role": "navigator"},
        headers=manager,
    )
    assert joined.status_code == 201, joined.text
    members = {m["user_id"] for m in (await thread_of(client, world, patient))["members"]}
    assert str(newcomer.id) in members

    # The navigator leaves the team: out of the care-team thread and of the group.
    team = (await client.get(f"/patients/{world.patient.id}/care-team", headers=manager)).json()
    member_id = next(m["id"] for m in team["data"] if m["user_id"] == str(world.navigator.id))
    ended = await client.delete(
        f"/patients/{world.patient.id}/care-team/{member_id}", headers=manager
    )
    assert ended.status_code == 204
    navigator = await as_(world.navigator)
    for cid in (thread["id"], conversation["id"]):
        assert_error(await client.get(f"/conversations/{cid}/messages", headers=navigator), 404)

    # The patient withdraws Fiona's grant: out of both as well.
    grants = (
        await client.get(f"/patients/{world.patient.id}/proxy-grants", headers=patient)
    ).json()
    grant_id = next(g["id"] for g in grants["data"] if g["grantee_id"] == str(world.family_full.id))
    revoked = await client.delete(
        f"/patients/{world.patient.id}/proxy-grants/{grant_id}", headers=patient
    )
    assert revoked.status_code == 204
    family = await as_(world.family_full)
    for cid in (thread["id"], conversation["id"]):
        assert_error(await client.get(f"/conversations/{cid}/messages", headers=family), 404)
    assert (await client.get("/conversations", headers=family)).json()["data"] == []


async def test_direct_thread_between_the_same_two_people_is_reused(
    client: httpx.AsyncClient, world: World, as_
) -> None:
    navigator = await as_(world.navigator)
    payload = {
        "patient_id": str(world.patient.id),
        "kind": "direct",
        "subject": "Transport to Tuesday's visit",
        "member_ids": [str(world.patient_user.id)],
    }
    first = await client.post("/conversations", json=payload, headers=navigator)
    second = await client.post("/conversations", json=payload, headers=navigator)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]
    two = payload | {"member_ids": [str(world.patient_user.id), str(world.clinician.id)]}
    assert_error(
        await client.post("/conversations", json=two, headers=navigator), 422, "direct_needs_one"
    )
    assert_error(
        await client.post(
            f"/conversations/{first.json()['id']}/members",
            json={"user_id": str(world.clinician.id)},
            headers=navigator,
        ),
        409,
    )


# --- attachments -----------------------------------------------------------------------------


async def upload(client, cid, headers, data: bytes, filename="file.bin"):
    return await client.post(
        f"/conversations/{cid}/attachments",
        params={"filename": filename},
        content=data,
        headers=headers | {"Content-Type": "application/octet-stream"},
    )


async def test_attachment_type_comes_from_the_bytes_and_only_members_download_it(
    client: httpx.AsyncClient, world: World, as_, settings: Settings
) -> None:
    patient, navigator = await as_(world.patient_user), await as_(world.navigator)
    thread = await thread_of(client, world, patient)
    cid = thread["id"]
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    stored = await upload(client, cid, patient, f.PNG_BYTES, filename="../../etc/evil.exe")
    assert stored.status_code == 201, stored.text
    assert stored.json()["content_type"] == "image/png"
    assert stored.json()["filename"] == "evil.png"  # no path, the real type's suffix
    assert (await upload(client, cid, patient, pdf, "letter.pdf")).json()[
        "content_type"
    ] == "application/pdf"

    fake_pdf = await upload(client, cid, patient, b"#!/bin/sh\nrm -rf /\n", "report.pdf")
    assert_error(fake_pdf, 422, "unsupported_file_type")
    assert_error(await upload(client, cid, patient, b"", "empty.png"), 400, "empty_file")
    too_big = await upload(client, cid, patient, f.PNG_BYTES + b"\0" * (10 * 1024 * 1024))
    assert_error(too_big, 413)
    assert "10 MB" in too_big.json()["error"]["message"]

    attachment_id = stored.json()["id"]
    message = await send(client, cid, patient, "", attachment_id=attachment_id)
    assert message.status_code == 201 and message.json()["attachment"]["id"] == attachment_id
    again = await send(client, cid, patient, "twice", attachment_id=attachment_id)
    assert_error(again, 409, "attachment_used")
    theirs = await send(
        client,
        cid,
        navigator,
        "not mine",
        attachment_id=(await upload(client, cid, patient, pdf)).json()["id"],
    )
    assert_error(theirs, 422, "unknown_attachment")

    download = await client.get(
        f"/conversations/{cid}/attachments/{attachment_id}", headers=navigator
    )
    assert download.status_code == 200
    assert download.content == f.PNG_BYTES
    assert download.headers["content-type"] == "image/png"
    outsider = await as_(world.other_staff)
    assert_error(
        await client.get(f"/conversations/{cid}/attachments/{attachment_id}", headers=outsider), 404
    )
    # Stored outside the database, and not as plaintext.
    files = list(Path(settings.attachment_dir).rglob(f"{uuid.UUID(attachment_id).hex}.bin"))
    assert len(files) == 1 and f.PNG_BYTES not in files[0].read_bytes()


# --- edits, retractions, nothing deleted -----------------------------------------------------


async def test_edit_and_retraction_keep_the_history_for_staff(
    client: httpx.AsyncClient, world: World, as_, db: Database
) -> None:
    patient, navigator = await as_(world.patient_user), await as_(world.navigator)
    thread = await thread_of(client, world, patient)
    cid = thread["id"]
    original = (await send(client, cid, patient, "Took 20 units")).json()
    url = f"/conversations/{cid}/messages/{original['id']}"
    assert_error(await client.patch(url, json={"body": "not yours"}, headers=navigator), 403)
    edited = await client.patch(url, json={"body": "Took 12 units"}, headers=patient)
    assert edited.json()["state"] == "edited" and edited.json()["body"] == "Took 12 units"

    assert_error(await client.get(f"{url}/history", headers=patient), 403)
    retracted = await client.post(
        f"{url}/retract", json={"reason": "Wrong patient thread"}, headers=navigator
    )
    assert retracted.status_code == 200
    assert retracted.json()["state"] == "retracted" and retracted.json()["body"] is None
    assert_error(await client.post(f"{url}/retract", json={}, headers=patient), 409)
    assert_error(await client.patch(url, json={"body": "again"}, headers=patient), 409)

    history = (await client.get(f"{url}/history", headers=navigator)).json()["data"]
    assert [(h["revision"], h["body"], h["editor_name"]) for h in history] == [
        (1, "Took 20 units", "Rosa Patient"),
        (2, "Took 12 units", "Nate Navigator"),
    ]
    listing = (await client.get(f"/conversations/{cid}/messages", headers=patient)).json()["data"]
    assert [(m["seq"], m["state"], m["body"]) for m in listing] == [(1, "retracted", None)]
    async with db.session() as session:
        assert await session.scalar(select(func.count()).select_from(Message)) == 1
        assert await session.scalar(select(func.count()).select_from(MessageRevision)) == 2


# --- encryption at rest ----------------------------------------------------------------------


async def test_bodies_and_earlier_versions_are_stored_only_as_ciphertext(
    client: httpx.AsyncClient, world: World, as_, db: Database
) -> None:
    patient = await as_(world.patient_user)
    cid = (await thread_of(client, world, patient))["id"]
    sent = (await send(client, cid, patient, PLAINTEXT)).json()
    await client.patch(
        f"/conversations/{cid}/messages/{sent['id']}",
        json={"body": PLAINTEXT + "!"},
        headers=patient,
    )
    needle = PLAINTEXT.encode()
    async with db.session() as session:
        for table in ("message", "message_revision"):
            rows = (await session.execute(text(f"SELECT * FROM {table}"))).all()  # noqa: S608
            assert rows
            for row in rows:
                for value in row:
                    if isinstance(value, bytes | bytearray | memoryview | str):
                        raw = bytes(value) if not isinstance(value, str) else value.encode()
                        assert needle not in raw, f"plaintext found in {table}"
        key_ids = set((await session.scalars(select(Message.key_id))).all())
    assert key_ids == {"t1"}


async def test_key_rotation_reencrypts_old_rows_and_files(
    client: httpx.AsyncClient, world: World, as_, db: Database, app: FastAPI, db_url: str
) -> None:
    patient = await as_(world.patient_user)
    cid = (await thread_of(client, world, patient))["id"]
    attachment = (await upload(client, cid, patient, f.PNG_BYTES, "x.png")).json()
    await send(client, cid, patient, PLAINTEXT, attachment_id=attachment["id"])
    sent = (await send(client, cid, patient, "second")).json()
    await client.patch(
        f"/conversations/{cid}/messages/{sent['id']}",
        json={"body": "second, edited"},
        headers=patient,
    )
    old = app.state.settings.encryption_keys
    rotated = make_settings(
        db_url, encryption_keys=old | {"t2": new_key()}, encryption_active_key="t2"
    )
    app.state.settings = rotated
    newer = (await send(client, cid, patient, "under the new key")).json()
    report = await reencrypt(db, rotated.keyring, rotated.attachment_dir)
    assert (report.messages, report.revisions, report.attachments) == (2, 1, 1)
    async with db.session() as session:
        assert set((await session.scalars(select(Message.key_id))).all()) == {"t2"}
        assert set((await session.scalars(select(Attachment.key_id))).all()) == {"t2"}
    # The old key can now be dropped: everything still reads.
    app.state.settings = make_settings(
        db_url, encryption_keys={"t2": rotated.encryption_keys["t2"]}, encryption_active_key="t2"
    )
    listing = (await client.get(f"/conversations/{cid}/messages", headers=patient)).json()["data"]
    assert [m["body"] for m in listing] == [PLAINTEXT, "second, edited", "under the new key"]
    assert listing[2]["id"] == newer["id"]
    download = await client.get(
        f"/conversations/{cid}/attachments/{attachment['id']}", headers=patient
    )
    assert download.content == f.PNG_BYTES
    history = await client.get(
        f"/conversations/{cid}/messages/{sent['id']}/history", headers=await as_(world.navigator)
    )
    assert history.json()["data"][0]["body"] == "second"
    assert base64.b64decode(rotated.encryption_keys["t2"])  # a real key, not a placeholder


# --- bad input -------------------------------------------------------------------------------


async def test_bad_messages_get_clear_errors_and_store_nothing(
    client: httpx.AsyncClient, world: World, as_, db: Database
) -> None:
    patient = await as_(world.patient_user)
    cid = (await thread_of(client, world, patient))["id"]
    assert_error(await send(client, cid, patient, "   "), 400, "empty_message")
    long = await send(client, cid, patient, "x" * 4001)
    assert long.status_code == 422 and "4000" in long.text
    bad_id = await send(client, cid, patient, "hi", client_id="has spaces in it")
    assert bad_id.status_code == 422
    assert_error(await send(client, uuid.uuid4(), patient, "hi"), 404)
    not_json = await client.post(
        f"/conversations/{cid}/messages",
        content=b"{",
        headers=patient | {"Content-Type": "application/json"},
    )
    assert_error(not_json, 400)
    # A spoofed sender is ignored: the message is the caller's.
    spoof = await send(
        client, cid, patient, "it's me", sender_id=str(world.navigator.id), sender_name="Nate"
    )
    assert spoof.status_code == 201
    assert spoof.json()["sender_id"] == str(world.patient_user.id)
    assert spoof.json()["sender_name"] == "Rosa Patient"
    async with db.session() as session:
        assert await session.scalar(select(func.count()).select_from(Message)) == 1


# --- push outbox and audit -------------------------------------------------------------------


async def test_members_without_a_socket_get_a_generic_push_job_in_the_same_transaction(
    client: httpx.AsyncClient, world: World, as_, db: Database
) -> None:
    patient = await as_(world.patient_user)
    cid = (await thread_of(client, world, patient))["id"]
    await send(client, cid, patient, PLAINTEXT)
    async with db.session() as session:
        jobs = list((await session.scalars(select(PushJob))).all())
        notes = list((await session.scalars(select(Notification))).all())
    recipients = {
        world.care_manager.id,
        world.navigator.id,
        world.clinician.id,
        world.family_full.id,
    }
    assert {j.user_id for j in jobs} == recipients
    assert {n.user_id for n in notes} == recipients
    for job in jobs:
        words = f"{job.title} {job.body} {job.link}"
        assert "312" not in words and "Rosa" not in words and "diabetes" not in words.lower()
        assert job.status == "pending" and job.collapse_key == f"conversation:{cid}"
    # A refused send writes no job.
    await send(client, cid, await as_(world.other_staff), PLAINTEXT)
    async with db.session() as session:
        assert await session.scalar(select(func.count()).select_from(PushJob)) == len(recipients)


async def test_reads_are_audited_per_conversation_and_range(
    client: httpx.AsyncClient, world: World, as_, db: Database
) -> None:
    patient, family = await as_(world.patient_user), await as_(world.family_full)
    cid = (await thread_of(client, world, patient))["id"]
    for n in range(4):
        await send(client, cid, patient, f"m{n}")
    await client.get(f"/conversations/{cid}/messages", params={"limit": 2}, headers=family)
    reads = await audit_entries(db, action="message.read")
    assert len(reads) == 1
    entry = reads[0]
    assert entry.actor_id == world.family_full.id
    assert entry.patient_id == world.patient.id
    assert entry.access_basis == "proxy" and entry.on_behalf_of_id == world.patient.id
    assert entry.resource_id == cid
    assert entry.detail == {"from_seq": 3, "to_seq": 4, "count": 2}
    writes = await audit_entries(db, action="message.create")
    assert [w.detail["seq"] for w in writes] == [1, 2, 3, 4]
    assert all("m0" not in str(w.detail) for w in writes)


async def test_family_without_the_messages_scope_cannot_start_a_conversation(
    client: httpx.AsyncClient, world: World, as_
) -> None:
    limited = await as_(world.family_limited)
    response = await client.post(
        "/conversations",
        json={
            "patient_id": str(world.patient.id),
            "kind": "direct",
            "subject": "Question",
            "member_ids": [str(world.navigator.id)],
        },
        headers=limited,
    )
    error = assert_error(response, 403)
    assert "messages" in error["message"]
    assert GrantScope.messages.value == "messages"
