"""The messages store: ordering and de-duplication by seq (pure logic, frames fed directly),
then the real store against the real backend over loopback, with real websockets."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from mobile_app.api.client import ApiClient
from mobile_app.api.realtime import ConnectionState, RealtimeClient, backoff_delay, websocket_url
from mobile_app.stores.messages import RETRACTED_TEXT, MessagesStore, message_text
from mobile_app.stores.patients import LoadState
from shared.enums import ConversationKind, MessageKind, MessageState, Role
from shared.schemas.common import CursorPage
from shared.schemas.messaging import (
    ConversationMemberPublic,
    ConversationPublic,
    ConversationResync,
    MessageCreate,
    MessagePublic,
)
from tests.mobile_app.client_support import ClientFactory, FakeClock, SignedIn

# -- pure logic: a stand-in server that only knows one conversation's messages -----------------

ME = uuid.uuid4()
NURSE = uuid.uuid4()
PATIENT = uuid.uuid4()
CONVERSATION = uuid.uuid4()
START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def message(seq: int, sender: uuid.UUID = NURSE, body: str | None = None, **extra: Any) -> dict:
    names = {ME: "Me Myself", NURSE: "James Carter", PATIENT: "Robert Johnson"}
    return {
        "id": str(uuid.uuid5(CONVERSATION, str(seq))),
        "conversation_id": str(CONVERSATION),
        "seq": seq,
        "change": extra.pop("change", 0),
        "client_id": extra.pop("client_id", None),
        "sender_id": str(sender),
        "sender_name": names[sender],
        "kind": MessageKind.text,
        "state": extra.pop("state", MessageState.active),
        "body": body if body is not None else f"message {seq}",
        "created_at": (START + timedelta(minutes=seq)).isoformat(),
        **extra,
    }


def conversation(last_seq: int, unread: int = 0) -> ConversationPublic:
    return ConversationPublic(
        id=CONVERSATION,
        patient_id=PATIENT,
        patient_name="Robert Johnson",
        kind=ConversationKind.care_team,
        subject="Care team",
        urgent=False,
        last_seq=last_seq,
        last_change=0,
        last_message_at=START,
        unread=unread,
        members=[
            ConversationMemberPublic(
                user_id=ME, full_name="Me Myself", role=Role.navigator, read_seq=0
            ),
            ConversationMemberPublic(
                user_id=NURSE, full_name="James Carter", role=Role.navigator, read_seq=0
            ),
            ConversationMemberPublic(
                user_id=PATIENT, full_name="Robert Johnson", role=Role.patient, read_seq=0
            ),
        ],
        created_at=START,
    )


class StandInServer:
    """Answers the few calls the store makes while frames are fed to it by hand."""

    def __init__(self, messages: list[dict]) -> None:
        self.messages = {m["seq"]: MessagePublic.model_validate(m) for m in messages}
        self.resyncs: list[tuple[int, int]] = []
        self.reads: list[int] = []

    async def list_messages(self, conversation_id: str, **_: Any) -> CursorPage[MessagePublic]:
        return CursorPage(data=[self.messages[s] for s in sorted(self.messages) if s <= 3])

    async def resync(self, conversation_id: str, *, seq: int, change: int) -> ConversationResync:
        self.resyncs.append((seq, change))
        newer = [self.messages[s] for s in sorted(self.messages) if s > seq]
        changed = [m for m in self.messages.values() if m.seq <= seq and m.change > change]
        return ConversationResync(
            conversation_id=CONVERSATION,
            messages=newer,
            changed=changed,
            last_seq=max(self.messages),
            last_change=max(m.change for m in self.messages.values()),
            has_more=False,
        )

    async def mark_read(self, conversation_id: str, seq: int) -> None:
        self.reads.append(seq)


async def opened_store(
    server: StandInServer, *, clock: FakeClock | None = None, visible: bool = True
) -> MessagesStore:
    store = MessagesStore(server, clock=clock or FakeClock(), gap_wait=0.2)  # type: ignore[arg-type]
    store.start_session(ME, None)
    store.conversations = {CONVERSATION: conversation(last_seq=3)}
    store.state = LoadState.loaded
    store.visible = visible
    await store.open(CONVERSATION)
    return store


def seqs(store: MessagesStore) -> list[int]:
    thread = store.threads[CONVERSATION]
    return [m.seq for m in thread.ordered]


def created(seq: int, **kwargs: Any) -> dict:
    return {"type": "message.created", "message": message(seq, **kwargs)}


async def test_a_message_ahead_of_its_predecessor_waits_for_it() -> None:
    server = StandInServer([message(s) for s in range(1, 6)])
    store = await opened_store(server)
    assert seqs(store) == [1, 2, 3]

    store.on_frame(created(5))
    assert seqs(store) == [1, 2, 3]  # 4 has not arrived: 5 waits in the buffer
    store.on_frame(created(4))
    assert seqs(store) == [1, 2, 3, 4, 5]
    await asyncio.sleep(0.3)
    assert server.resyncs == []  # the hole closed in time: no need to ask the server


async def test_duplicates_are_dropped_and_a_lasting_hole_is_resynced() -> None:
    server = StandInServer([message(s) for s in range(1, 8)])
    store = await opened_store(server)
    store.on_frame(created(4))
    store.on_frame(created(3, body="a replayed copy"))
    store.on_frame(created(4, body="another copy"))
    assert seqs(store) == [1, 2, 3, 4]
    thread = store.threads[CONVERSATION]
    assert thread.messages[3].body == "message 3"
    assert thread.messages[4].body == "message 4"

    store.on_frame(created(7))  # 5 and 6 were lost on the way
    assert seqs(store) == [1, 2, 3, 4]
    await asyncio.sleep(0.35)
    assert server.resyncs == [(4, 0)]
    assert seqs(store) == [1, 2, 3, 4, 5, 6, 7]
    assert not thread.buffer


async def test_edits_and_retractions_replace_the_message_in_place() -> None:
    server = StandInServer([message(s) for s in range(1, 4)])
    store = await opened_store(server)
    store.on_frame(
        {
            "type": "message.updated",
            "message": message(2, body="fixed text", change=1, state=MessageState.edited),
        }
    )
    store.on_frame(
        {
            "type": "message.updated",
            "message": message(3, body=None, change=2, state=MessageState.retracted)
            | {"body": None},
        }
    )
    thread = store.threads[CONVERSATION]
    assert seqs(store) == [1, 2, 3]
    assert message_text(thread.messages[2]) == "fixed text"
    assert message_text(thread.messages[3]) == RETRACTED_TEXT
    assert thread.last_change == 2
    assert server.resyncs == []


async def test_typing_shows_for_a_few_seconds_and_never_for_yourself() -> None:
    clock = FakeClock()
    store = await opened_store(StandInServer([message(1)]), clock=clock)
    frame = {"type": "typing", "conversation_id": str(CONVERSATION)}
    store.on_frame(frame | {"user_id": str(NURSE), "full_name": "James Carter"})
    store.on_frame(frame | {"user_id": str(ME), "full_name": "Me Myself"})
    assert store.typing_names(CONVERSATION) == ["James Carter"]
    clock.advance(5.5)
    assert store.typing_names(CONVERSATION) == []


async def test_receipts_move_seen_by_under_your_last_message() -> None:
    server = StandInServer([message(1), message(2, sender=ME), message(3, sender=PATIENT)])
    store = await opened_store(server)
    seen = store.seen_by(CONVERSATION)
    assert seen is not None and seen.seq == 2 and seen.names == []

    receipt = {"type": "receipt", "conversation_id": str(CONVERSATION)}
    robert = {"user_id": str(PATIENT), "full_name": "Robert Johnson", "read_seq": 3}
    james = {"user_id": str(NURSE), "full_name": "James Carter", "read_seq": 1}
    store.on_frame(receipt | robert)
    store.on_frame(receipt | james)
    seen = store.seen_by(CONVERSATION)
    assert seen is not None and seen.names == ["Robert Johnson"]


async def test_unread_counts_new_messages_from_others_once() -> None:
    server = StandInServer([message(s) for s in range(1, 6)])
    store = await opened_store(server, visible=False)
    assert store.unread_total == 0
    store.on_frame(created(4))
    store.on_frame(created(4))  # a duplicate does not count twice
    store.on_frame(created(5, sender=ME))  # your own message is never unread
    assert store.conversations[CONVERSATION].unread == 1
    assert store.unread_total == 1

    store.set_visible(True)
    await asyncio.sleep(0.05)
    assert server.reads == [5]
    assert store.unread_total == 0


def test_websocket_address_and_back_off() -> None:
    assert websocket_url("http://127.0.0.1:8000/") == "ws://127.0.0.1:8000/api/v1/ws"
    assert websocket_url("https://care.example") == "wss://care.example/api/v1/ws"
    delays = [backoff_delay(n, first=0.5, maximum=30) for n in range(20)]
    assert all(0.25 <= d <= 30 for d in delays)
    assert max(delays[12:]) <= 30 and min(delays[12:]) >= 15  # bounded, and it stays there


# -- the real store, the real backend, real websockets -----------------------------------------


async def wait_until(predicate: Callable[[], bool], *, timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        assert loop.time() < deadline, "the condition did not hold in time"
        await asyncio.sleep(0.02)


class Person:
    """One signed-in demo person with the app's messaging parts, connected."""

    def __init__(self, api: ApiClient, store: MessagesStore, realtime: RealtimeClient) -> None:
        self.api = api
        self.store = store
        self.realtime = realtime

    async def open_care_team_thread(self, patient_id: uuid.UUID) -> uuid.UUID:
        if self.store.state is not LoadState.loaded:
            await self.store.load()
        conversation = next(
            c
            for c in self.store.conversations.values()
            if c.patient_id == patient_id and c.kind is ConversationKind.care_team
        )
        await self.store.open(conversation.id)
        return conversation.id


Connect = Callable[[str], Awaitable[Person]]


@pytest.fixture
async def connect(make_client: ClientFactory, signed_in: SignedIn) -> AsyncIterator[Connect]:
    people: list[Person] = []

    async def sign_in(local_part: str) -> Person:
        api = make_client()
        session = await signed_in(local_part, api=api)
        assert session.me is not None
        viewed = session.viewed_patient
        store = MessagesStore(api)
        store.start_session(session.me.id, None if session.is_staff else viewed.patient_id)
        realtime = RealtimeClient(api, store)
        store.realtime = realtime
        realtime.start()
        await wait_until(lambda: store.online)
        person = Person(api, store, realtime)
        people.append(person)
        return person

    yield sign_in
    for person in people:
        await person.realtime.close()


async def robert_id(person: Person) -> uuid.UUID:
    me = await person.api.me()
    assert me.patient_id is not None
    return me.patient_id


async def test_a_sent_message_gets_its_seq_and_reaches_the_team_live(connect: Connect) -> None:
    robert = await connect("robert.johnson")
    james = await connect("james.carter")
    patient_id = await robert_id(robert)
    conversation_id = await robert.open_care_team_thread(patient_id)
    assert await james.open_care_team_thread(patient_id) == conversation_id
    assert robert.store.conversations[conversation_id].kind is ConversationKind.care_team
    before = robert.store.threads[conversation_id].last_seq

    text = f"My sugar was 180 this morning ({uuid.uuid4().hex[:6]})"
    pending = await robert.store.send(text)
    assert pending is not None

    thread = robert.store.threads[conversation_id]
    await wait_until(lambda: not robert.store.outbox)
    sent = thread.messages[before + 1]
    assert (sent.body, sent.client_id) == (text, pending.client_id)
    assert sent.sender_name == "Robert Johnson"

    # James has the thread loaded but not on screen: it arrives live and counts as unread.
    james_thread = james.store.threads[conversation_id]
    await wait_until(lambda: james_thread.last_seq >= sent.seq)
    assert james_thread.messages[sent.seq].body == text
    assert james.store.conversations[conversation_id].unread >= 1
    assert james.store.unread_total >= 1

    # James looks at it: his unread count drops, and Robert sees "Seen by James Carter".
    james.store.set_visible(True)
    await wait_until(lambda: james.store.conversations[conversation_id].unread == 0)

    def seen_by_james() -> bool:
        seen = robert.store.seen_by(conversation_id)
        return seen is not None and seen.seq == sent.seq and "James Carter" in seen.names

    await wait_until(seen_by_james)


async def test_typing_reaches_the_other_side(connect: Connect) -> None:
    robert = await connect("robert.johnson")
    james = await connect("james.carter")
    patient_id = await robert_id(robert)
    conversation_id = await robert.open_care_team_thread(patient_id)
    await james.open_care_team_thread(patient_id)

    await james.store.note_typing()
    await wait_until(lambda: "James Carter" in robert.store.typing_names(conversation_id))


async def test_an_offline_send_waits_then_goes_exactly_once(connect: Connect) -> None:
    robert = await connect("robert.johnson")
    conversation_id = await robert.open_care_team_thread(await robert_id(robert))
    await robert.realtime.stop()
    assert robert.store.connection is ConnectionState.offline

    text = f"Written in a tunnel ({uuid.uuid4().hex[:6]})"
    pending = await robert.store.send(text)
    assert pending is not None
    assert list(robert.store.outbox) == [pending.client_id]
    assert not pending.confirmed
    stored = await robert.api.list_messages(str(conversation_id))
    assert pending.client_id not in {m.client_id for m in stored.data}

    robert.realtime.start()
    await wait_until(lambda: not robert.store.outbox)
    stored = await robert.api.list_messages(str(conversation_id))
    copies = [m for m in stored.data if m.client_id == pending.client_id]
    assert len(copies) == 1 and copies[0].body == text
    shown = [m for m in robert.store.threads[conversation_id].ordered if m.body == text]
    assert [m.seq for m in shown] == [copies[0].seq]

    # Sending it again with the same client_id (a retry after a lost answer) is a no-op.
    again = await robert.api.send_message(
        str(conversation_id), MessageCreate(client_id=pending.client_id, body=text)
    )
    assert again.id == copies[0].id


async def test_a_reconnect_resyncs_what_was_missed(connect: Connect) -> None:
    robert = await connect("robert.johnson")
    james = await connect("james.carter")
    patient_id = await robert_id(robert)
    conversation_id = await robert.open_care_team_thread(patient_id)
    await james.open_care_team_thread(patient_id)
    await robert.realtime.stop()

    text = f"Sent while Robert was away ({uuid.uuid4().hex[:6]})"
    assert await james.store.send(text) is not None
    await wait_until(lambda: not james.store.outbox)
    thread = robert.store.threads[conversation_id]
    assert text not in {m.body for m in thread.messages.values()}

    robert.realtime.start()
    await wait_until(lambda: text in {m.body for m in thread.messages.values()})
    assert list(thread.messages) == sorted(thread.messages)
    assert sorted(thread.messages)[-1] == thread.last_seq


async def test_edits_and_retractions_reach_the_other_side(connect: Connect) -> None:
    robert = await connect("robert.johnson")
    james = await connect("james.carter")
    patient_id = await robert_id(robert)
    conversation_id = await robert.open_care_team_thread(patient_id)
    await james.open_care_team_thread(patient_id)

    pending = await james.store.send("Your appointment is on Tuesday")
    assert pending is not None
    await wait_until(lambda: not james.store.outbox)
    sent = next(
        m
        for m in james.store.threads[conversation_id].messages.values()
        if m.client_id == pending.client_id
    )
    robert_thread = robert.store.threads[conversation_id]
    await wait_until(lambda: sent.seq in robert_thread.messages)

    assert await james.store.edit(sent, "Your appointment is on Wednesday")
    await wait_until(
        lambda: robert_thread.messages[sent.seq].body == "Your appointment is on Wednesday"
    )
    assert robert_thread.messages[sent.seq].state is MessageState.edited

    assert await james.store.retract(robert_thread.messages[sent.seq])
    await wait_until(lambda: message_text(robert_thread.messages[sent.seq]) == RETRACTED_TEXT)


PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201e0a1a0"
    "c20000000049454e44ae426082"
)


async def test_an_attachment_uploads_with_progress_and_downloads_with_the_token(
    connect: Connect,
) -> None:
    robert = await connect("robert.johnson")
    james = await connect("james.carter")
    patient_id = await robert_id(robert)
    conversation_id = await robert.open_care_team_thread(patient_id)
    await james.open_care_team_thread(patient_id)
    progress: list[float] = []
    robert.store.subscribe(
        lambda: progress.append(robert.store.upload.fraction) if robert.store.upload else None
    )

    assert await robert.store.attach("glucose-log.png", PNG, "My log from this week")
    await wait_until(lambda: not robert.store.outbox)
    assert progress and progress[-1] == 1.0
    sent = robert.store.threads[conversation_id].ordered[-1]
    assert sent.attachment is not None
    assert sent.attachment.content_type == "image/png"
    assert sent.body == "My log from this week"

    james_thread = james.store.threads[conversation_id]
    await wait_until(lambda: sent.seq in james_thread.messages)
    data, content_type = await james.store.fetch_attachment(conversation_id, sent.attachment)
    assert (data, content_type) == (PNG, "image/png")

    # Without the token the file is not served.
    async with httpx.AsyncClient() as http:
        url = f"{robert.api.api_url}/api/v1/conversations/{conversation_id}/attachments/"
        response = await http.get(url + str(sent.attachment.id))
    assert response.status_code == 401


async def test_the_socket_reauthenticates_after_a_token_refresh(connect: Connect) -> None:
    robert = await connect("robert.johnson")
    connections = robert.realtime.connections
    await robert.api.refresh()
    await asyncio.sleep(0.3)
    assert robert.realtime.online
    assert robert.realtime.connections == connections  # the same socket, re-authenticated
