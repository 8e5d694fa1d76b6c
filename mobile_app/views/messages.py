"""Messages: the conversation list and the open thread, side by side on a tablet, one after
the other on a phone (with a back button).

Everything shown comes from the messages store; this module only renders it and forwards what
the person does. The composer is built once and kept, so a live update never loses what is
being typed. Patients and family always see the safety line: messages are not for emergencies.
"""

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import flet as ft

from mobile_app import theme
from mobile_app.api.client import ApiError
from mobile_app.stores.messages import (
    MessagesStore,
    PendingMessage,
    SeenBy,
    Thread,
    message_text,
)
from mobile_app.stores.patients import LoadState
from mobile_app.views import widgets
from mobile_app.views.base import StaticTab, Tab, TabContext
from mobile_app.views.labels import possessive
from shared.enums import ConversationKind, GrantScope, MessageKind, MessageState, Role
from shared.schemas.messaging import (
    ATTACHMENT_TYPES,
    AttachmentPublic,
    ConversationPublic,
    MessagePublic,
)

SAFETY_LINE = "For anything urgent, call your clinic. In an emergency, call 911."
LIST_WIDTH = 320
ATTACHMENT_EXTENSIONS = ["jpg", "jpeg", "png", "gif", "webp", "pdf"]
OFFLINE_LINE = "You're offline. Messages you write will send when you're back online."


def build_messages(ctx: TabContext) -> Tab:
    session = ctx.session
    viewed = session.viewed_patient
    shared = viewed is None or viewed.scopes is None or GrantScope.messages in viewed.scopes
    if viewed is not None and not shared:
        return StaticTab(
            widgets.empty_state(
                icon=ft.Icons.CHAT_BUBBLE_OUTLINE,
                title=f"{viewed.name} hasn't shared messages with you",
                message="Ask them to add messages to what they share with you.",
                identifier="messages-empty",
            )
        )
    return MessagesTab(ctx)


class MessagesTab:
    fills_screen = True

    def __init__(self, ctx: TabContext) -> None:
        self._ctx = ctx
        self._store: MessagesStore = ctx.messages
        self._compact = ctx.compact
        session = ctx.session
        self._staff = session.is_staff
        self._patient_side = session.role in (Role.patient, Role.family)
        self._dialog: ft.AlertDialog | None = None
        self._picker = ft.FilePicker(on_result=self._on_files_picked)
        self._rendered_key: tuple[Any, ...] | None = None

        # -- the list pane ------------------------------------------------------------------
        self._list = ft.ListView(
            spacing=theme.SPACE_S, expand=True, padding=ft.Padding.only(right=4)
        )
        self._list_status = widgets.muted("", size=14)
        self._list_banner, self._show_list_banner = widgets.banner("messages-message")
        self._list_pane = ft.Column(
            [
                ft.Row(
                    [
                        ft.Text(
                            "Conversations", size=18, weight=ft.FontWeight.W_600, color=theme.TEXT
                        ),
                        ft.Container(expand=True),
                        ft.IconButton(
                            icon=ft.Icons.REFRESH,
                            tooltip="Refresh conversations",
                            on_click=self._reload,
                            icon_color=theme.PRIMARY,
                        ),
                    ],
                    vertical_alignment=ft.CrossAxisAlignment.CENTER,
                ),
                self._list_status,
                self._list_banner,
                ft.Semantics(
                    identifier="conversation-list", container=True, content=self._list, expand=True
                ),
            ],
            spacing=theme.SPACE_S,
            expand=True,
        )

        # -- the thread pane ----------------------------------------------------------------
        self._back = ft.Semantics(
            identifier="back-button",
            visible=self._compact,
            content=ft.IconButton(
                icon=_labelled_icon(ft.Icons.ARROW_BACK, "Back to conversations"),
                tooltip="Back to conversations",
                on_click=self._back_to_list,
                width=theme.TOUCH_TARGET,
                height=theme.TOUCH_TARGET,
            ),
        )
        self._title = ft.Text("", size=18, weight=ft.FontWeight.W_600, color=theme.TEXT)
        self._subtitle = ft.Text("", size=13, color=theme.TEXT_MUTED)
        self._urgent_chip = _chip("Urgent", theme.ERROR, theme.ERROR_SOFT, ft.Icons.PRIORITY_HIGH)
        self._connection = ft.Container(
            content=ft.Row(
                [
                    ft.Icon(ft.Icons.CLOUD_OFF, size=18, color=theme.WARNING),
                    ft.Text(OFFLINE_LINE, size=14, color=theme.WARNING, expand=True),
                ],
                spacing=theme.SPACE_S,
            ),
            bgcolor=theme.WARNING_SOFT,
            border_radius=8,
            padding=ft.Padding.symmetric(horizontal=theme.SPACE_M, vertical=8),
            visible=False,
        )
        self._notice, self._show_notice = widgets.banner("thread-message")
        self._messages = ft.ListView(spacing=theme.SPACE_S, expand=True, auto_scroll=True)
        self._typing = ft.Text("", size=14, italic=True, color=theme.TEXT_MUTED)
        self._typing_box = ft.Semantics(
            identifier="typing-indicator", live_region=True, content=self._typing, visible=False
        )
        self._upload_label = ft.Text("", size=14, color=theme.TEXT, expand=True)
        self._upload_bar = ft.ProgressBar(value=0, color=theme.PRIMARY, bgcolor=theme.PRIMARY_SOFT)
        self._upload_close = ft.IconButton(
            icon=ft.Icons.CLOSE, tooltip="Dismiss", on_click=self._dismiss_upload, visible=False
        )
        self._upload = ft.Semantics(
            identifier="upload-progress",
            container=True,
            content=ft.Column(
                [ft.Row([self._upload_label, self._upload_close]), self._upload_bar], spacing=4
            ),
            visible=False,
        )
        self._input = ft.TextField(
            hint_text="Write a message",
            multiline=True,
            min_lines=1,
            max_lines=5,
            shift_enter=True,
            on_submit=self._send,
            on_change=self._typed,
            border_radius=10,
            text_size=16,
            bgcolor=theme.SURFACE,
            border_color=theme.BORDER,
            focused_border_color=theme.PRIMARY,
            expand=True,
        )
        attach = ft.IconButton(
            icon=_labelled_icon(ft.Icons.ATTACH_FILE, "Attach a photo or PDF", theme.PRIMARY),
            tooltip="Attach a photo or PDF",
            icon_color=theme.PRIMARY,
            action=ft.PickFiles(
                self._picker,
                with_data=True,
                file_type=ft.FilePickerFileType.CUSTOM,
                allowed_extensions=ATTACHMENT_EXTENSIONS,
                dialog_title="Attach a photo or PDF",
            ),
            width=theme.TOUCH_TARGET,
            height=theme.TOUCH_TARGET,
        )
        send = ft.IconButton(
            icon=_labelled_icon(ft.Icons.SEND, "Send message", "#FFFFFF"),
            tooltip="Send message",
            on_click=self._send,
            icon_color="#FFFFFF",
            bgcolor=theme.PRIMARY,
            width=theme.TOUCH_TARGET,
            height=theme.TOUCH_TARGET,
        )
        safety = ft.Semantics(
            identifier="safety-line",
            container=True,
            content=ft.Row(
                [
                    ft.Icon(ft.Icons.LOCAL_PHONE_OUTLINED, size=18, color=theme.ERROR),
                    ft.Text(SAFETY_LINE, size=14, color=theme.TEXT, expand=True),
                ],
                spacing=theme.SPACE_S,
            ),
            visible=self._patient_side,
        )
        self._older = ft.TextButton(
            content=ft.Text("Show earlier messages", size=15),
            icon=ft.Icons.HISTORY,
            on_click=self._load_older,
            height=theme.TOUCH_TARGET,
            visible=False,
        )
        self._placeholder = widgets.empty_state(
            icon=ft.Icons.FORUM_OUTLINED,
            title="Choose a conversation",
            message="Pick a conversation on the left to read and reply.",
            identifier="thread-empty",
        )
        self._thread_body = ft.Column(
            [
                ft.Row(
                    [
                        self._back,
                        ft.Column([self._title, self._subtitle], spacing=0, expand=True),
                        self._urgent_chip,
                    ],
                    vertical_alignment=ft.CrossAxisAlignment.CENTER,
                ),
                ft.Divider(height=1, color=theme.BORDER),
                self._connection,
                self._notice,
                self._older,
                ft.Semantics(
                    identifier="thread", container=True, content=self._messages, expand=True
                ),
                ft.Semantics(identifier="typing-indicator", live_region=True, content=self._typing),
                self._upload,
                safety,
                ft.Row(
                    [
                        attach,
                        ft.Semantics(identifier="message-input", content=self._input, expand=True),
                        ft.Semantics(identifier="send-button", content=send),
                    ],
                    vertical_alignment=ft.CrossAxisAlignment.END,
                    spacing=theme.SPACE_S,
                ),
            ],
            spacing=theme.SPACE_S,
            expand=True,
        )
        self._thread_pane = ft.Container(
            content=self._thread_body,
            expand=True,
            bgcolor=theme.SURFACE,
            border_radius=theme.RADIUS,
            border=ft.Border.all(1, theme.BORDER),
            padding=theme.SPACE_M,
        )
        self._list_box = ft.Container(
            content=self._list_pane,
            width=None if self._compact else LIST_WIDTH,
            expand=self._compact,
        )
        if self._compact:
            self.control: ft.Control = ft.Stack([self._list_box, self._thread_pane], expand=True)
        else:
            self.control = ft.Row(
                [self._list_box, self._thread_pane],
                spacing=theme.SPACE_M,
                expand=True,
                vertical_alignment=ft.CrossAxisAlignment.STRETCH,
            )
        if self._store.state is LoadState.idle:
            ctx.page.run_task(self._store.load)
        self.refresh()

    # -- rendering --------------------------------------------------------------------------

    def refresh(self) -> None:
        store = self._store
        self._render_list()
        conversation = store.open_conversation
        thread = store.open_thread
        if self._compact:
            self._list_box.visible = conversation is None
            self._thread_pane.visible = conversation is not None
        self._thread_body.visible = conversation is not None
        self._thread_pane.content = self._thread_body if conversation else self._placeholder
        self._connection.visible = conversation is not None and not store.online
        self._show_notice(store.notice, widgets.BannerKind.error)
        if conversation is None:
            return
        self._title.value = _title(conversation, self._staff)
        self._subtitle.value = _members_line(conversation, store.user_id)
        self._urgent_chip.visible = conversation.urgent
        names = store.typing_names(conversation.id)
        self._typing.value = _typing_line(names)
        self._typing_box.visible = bool(names)
        self._render_upload()
        if thread is None:
            self._messages.controls = [widgets.muted("Loading messages…")]
            return
        self._older.visible = thread.older_cursor is not None
        self._older.disabled = thread.loading_older
        self._render_thread(conversation, thread)

    def _render_list(self) -> None:
        store = self._store
        if store.state is LoadState.loading and not store.conversations:
            self._list_status.value = "Loading conversations…"
        elif store.state is LoadState.failed and not store.conversations:
            self._list_status.value = "Your conversations could not be loaded."
        elif not store.conversations and store.state is LoadState.loaded:
            self._list_status.value = (
                "No conversations yet. Messages with your patients and their families will "
                "appear here."
                if self._staff
                else "No messages yet."
            )
        else:
            self._list_status.value = ""
        self._list_status.visible = bool(self._list_status.value)
        self._show_list_banner(store.error, widgets.BannerKind.error)
        self._list.controls = [
            self._conversation_tile(c, selected=c.id == store.open_id)
            for c in store.ordered_conversations
        ]

    def _conversation_tile(self, conversation: ConversationPublic, *, selected: bool) -> ft.Control:
        unread = conversation.unread
        trailing: list[ft.Control] = []
        if conversation.urgent:
            trailing.append(ft.Icon(ft.Icons.PRIORITY_HIGH, color=theme.ERROR, size=20))
        if unread:
            trailing.append(
                ft.Container(
                    content=ft.Text(
                        str(unread), size=13, weight=ft.FontWeight.W_600, color="#FFFFFF"
                    ),
                    bgcolor=theme.PRIMARY,
                    border_radius=12,
                    padding=ft.Padding.symmetric(horizontal=8, vertical=2),
                )
            )
        when = _short_time(conversation.last_message_at)
        label_parts = [_title(conversation, self._staff)]
        if conversation.urgent:
            label_parts.append("urgent")
        if unread:
            label_parts.append(f"{unread} unread")
        return ft.Semantics(
            identifier=f"conversation-{conversation.id}",
            button=True,
            selected=selected,
            label=", ".join(label_parts),
            container=True,
            content=ft.Container(
                content=ft.Row(
                    [
                        ft.CircleAvatar(
                            content=ft.Icon(_kind_icon(conversation.kind), size=20),
                            bgcolor=theme.PRIMARY_SOFT,
                            color=theme.PRIMARY_DARK,
                            radius=20,
                        ),
                        ft.Column(
                            [
                                ft.Text(
                                    _title(conversation, self._staff),
                                    size=16,
                                    weight=ft.FontWeight.W_600 if unread else ft.FontWeight.W_500,
                                    color=theme.TEXT,
                                    max_lines=1,
                                    overflow=ft.TextOverflow.ELLIPSIS,
                                ),
                                ft.Text(
                                    _list_subtitle(conversation, self._staff, when),
                                    size=13,
                                    color=theme.TEXT_MUTED,
                                    max_lines=1,
                                    overflow=ft.TextOverflow.ELLIPSIS,
                                ),
                            ],
                            spacing=2,
                            expand=True,
                        ),
                        *trailing,
                    ],
                    spacing=theme.SPACE_M,
                    vertical_alignment=ft.CrossAxisAlignment.CENTER,
                ),
                on_click=_handler(self._open, conversation.id),
                bgcolor=theme.PRIMARY_SOFT if selected else theme.SURFACE,
                border=ft.Border.all(1, theme.PRIMARY if selected else theme.BORDER),
                border_radius=theme.RADIUS,
                padding=ft.Padding.symmetric(horizontal=theme.SPACE_M, vertical=10),
                height=72,
            ),
        )

    def _render_thread(self, conversation: ConversationPublic, thread: Thread) -> None:
        store = self._store
        seen = store.seen_by(conversation.id)
        controls: list[ft.Control] = []
        if thread.state is LoadState.failed:
            controls.append(widgets.muted(thread.error or "Messages could not be loaded."))
        elif not thread.messages and not store.pending_for(conversation.id):
            controls.append(
                widgets.muted(
                    "No messages yet. Write the first one below."
                    if thread.state is LoadState.loaded
                    else "Loading messages…"
                )
            )
        for message in thread.ordered:
            controls.append(self._message_bubble(message))
            if seen is not None and message.seq == seen.seq:
                controls.append(_seen_by(seen))
        for pending in store.pending_for(conversation.id):
            controls.append(self._pending_bubble(pending))
        self._messages.controls = controls

    def _message_bubble(self, message: MessagePublic) -> ft.Control:
        mine = message.sender_id == self._store.user_id
        if message.kind is MessageKind.system:
            return ft.Semantics(
                identifier=f"message-{message.seq}",
                container=True,
                content=ft.Container(
                    content=ft.Text(
                        message_text(message), size=13, italic=True, color=theme.TEXT_MUTED
                    ),
                    alignment=ft.Alignment.CENTER,
                    padding=4,
                ),
            )
        retracted = message.state is MessageState.retracted
        meta = f"{'You' if mine else message.sender_name} · {_short_time(message.created_at)}"
        if message.state is MessageState.edited:
            meta += " · edited"
        parts: list[ft.Control] = [ft.Text(meta, size=12, color=theme.TEXT_MUTED)]
        if message.urgent:
            parts.append(_chip("Urgent", theme.ERROR, theme.ERROR_SOFT, ft.Icons.PRIORITY_HIGH))
        text = message_text(message)
        if text:
            parts.append(
                ft.Text(
                    text,
                    size=16,
                    italic=retracted,
                    color=theme.TEXT_MUTED if retracted else theme.TEXT,
                    selectable=not retracted,
                )
            )
        if message.attachment is not None and not retracted:
            parts.append(self._attachment_button(message.conversation_id, message.attachment))
        actions: list[ft.Control] = []
        if mine and not retracted:
            actions.append(
                ft.PopupMenuButton(
                    icon=ft.Icons.MORE_VERT,
                    tooltip="Message options",
                    items=[
                        ft.PopupMenuItem(
                            content=ft.Text("Edit"),
                            icon=ft.Icons.EDIT_OUTLINED,
                            on_click=lambda _, m=message: self._open_edit(m),
                        ),
                        ft.PopupMenuItem(
                            content=ft.Text("Retract (entered in error)"),
                            icon=ft.Icons.UNDO,
                            on_click=lambda _, m=message: self._open_retract(m),
                        ),
                    ],
                )
            )
        return _bubble(
            identifier=f"message-{message.seq}",
            mine=mine,
            content=ft.Column(parts, spacing=4, tight=True),
            actions=actions,
        )

    def _pending_bubble(self, pending: PendingMessage) -> ft.Control:
        if pending.error:
            status: list[ft.Control] = [
                ft.Icon(ft.Icons.ERROR_OUTLINE, size=16, color=theme.ERROR),
                ft.Text(pending.error, size=12, color=theme.ERROR, expand=True),
            ]
            buttons: list[ft.Control] = [
                ft.TextButton(
                    content=ft.Text("Try again"),
                    on_click=_handler(self._retry, pending.client_id),
                    height=theme.TOUCH_TARGET,
                ),
                ft.TextButton(
                    content=ft.Text("Discard"),
                    on_click=lambda _, cid=pending.client_id: self._store.discard(cid),
                    height=theme.TOUCH_TARGET,
                ),
            ]
        else:
            status = [
                ft.Semantics(
                    label="Waiting to send",
                    content=ft.Icon(ft.Icons.SCHEDULE, size=16, color=theme.TEXT_MUTED),
                ),
                ft.Text(
                    "Sending…" if self._store.online else "Waiting to send",
                    size=12,
                    color=theme.TEXT_MUTED,
                ),
            ]
            buttons = []
        parts: list[ft.Control] = [ft.Row(status, spacing=4)]
        if pending.body:
            parts.append(ft.Text(pending.body, size=16, color=theme.TEXT))
        if pending.attachment is not None:
            parts.append(_attachment_label(pending.attachment))
        if buttons:
            parts.append(ft.Row(buttons, spacing=0))
        return _bubble(
            identifier=f"pending-{pending.client_id}",
            mine=True,
            content=ft.Column(parts, spacing=4, tight=True),
            actions=[],
            faded=True,
        )

    def _attachment_button(
        self, conversation_id: uuid.UUID, attachment: AttachmentPublic
    ) -> ft.Control:
        is_image = attachment.content_type.startswith("image/")
        label = f"View photo ({attachment.filename})" if is_image else f"Save {attachment.filename}"
        return ft.Semantics(
            identifier=f"attachment-{attachment.id}",
            content=ft.OutlinedButton(
                content=ft.Text(label, size=14, max_lines=1, overflow=ft.TextOverflow.ELLIPSIS),
                icon=ft.Icons.IMAGE_OUTLINED if is_image else ft.Icons.PICTURE_AS_PDF_OUTLINED,
                on_click=_handler(self._open_attachment, conversation_id, attachment),
                height=theme.TOUCH_TARGET,
            ),
        )

    def _render_upload(self) -> None:
        upload = self._store.upload
        self._upload.visible = upload is not None and upload.conversation_id == self._store.open_id
        if upload is None:
            return
        if upload.error:
            self._upload_label.value = f"{upload.filename}: {upload.error}"
            self._upload_label.color = theme.ERROR
            self._upload_bar.visible = False
            self._upload_close.visible = True
        else:
            self._upload_label.value = f"Uploading {upload.filename} ({upload.fraction:.0%})"
            self._upload_label.color = theme.TEXT
            self._upload_bar.value = upload.fraction
            self._upload_bar.visible = True
            self._upload_close.visible = False

    # -- events -----------------------------------------------------------------------------

    def _activity(self) -> None:
        self._ctx.session.record_activity()

    async def _reload(self, _: ft.ControlEvent) -> None:
        self._activity()
        await self._store.load()

    async def _open(self, conversation_id: uuid.UUID) -> None:
        self._activity()
        await self._store.open(conversation_id)

    def _back_to_list(self, _: ft.ControlEvent) -> None:
        self._activity()
        self._store.close_thread()

    async def _load_older(self, _: ft.ControlEvent) -> None:
        self._activity()
        await self._store.load_older()

    async def _send(self, _: ft.ControlEvent) -> None:
        self._activity()
        text = self._input.value or ""
        if not text.strip():
            return
        self._input.value = ""
        self._input.update()
        await self._store.send(text)
        await self._input.focus()

    async def _typed(self, _: ft.ControlEvent) -> None:
        self._activity()
        if (self._input.value or "").strip():
            await self._store.note_typing()

    async def _retry(self, client_id: str) -> None:
        self._activity()
        await self._store.retry(client_id)

    async def _on_files_picked(self, e: ft.FilePickerResultEvent) -> None:
        self._activity()
        for picked in e.files[:1]:
            if picked.bytes is None:
                continue
            text = self._input.value or ""
            self._input.value = ""
            if await self._store.attach(picked.name, picked.bytes, text):
                return
            self._input.value = text  # the upload failed: keep what was written

    def _dismiss_upload(self, _: ft.ControlEvent) -> None:
        self._store.dismiss_upload()

    async def _open_attachment(
        self, conversation_id: uuid.UUID, attachment: AttachmentPublic
    ) -> None:
        self._activity()
        try:
            data, content_type = await self._store.fetch_attachment(conversation_id, attachment)
        except ApiError as exc:
            self._store.show_notice(exc.message)
            return
        if content_type.startswith("image/") and content_type in ATTACHMENT_TYPES:
            self._show_dialog(
                ft.AlertDialog(
                    title=ft.Text(attachment.filename),
                    content=ft.Semantics(
                        identifier="attachment-preview",
                        image=True,
                        label=f"Photo {attachment.filename}",
                        content=ft.Image(
                            src=data,
                            fit=ft.BoxFit.CONTAIN,
                            width=560,
                            height=480,
                        ),
                    ),
                    actions=[
                        ft.TextButton(
                            content=ft.Text("Save"),
                            on_click=_handler(self._save, attachment, data),
                        ),
                        ft.TextButton(content=ft.Text("Close"), on_click=self._close_dialog),
                    ],
                )
            )
        else:
            await self._save(attachment, data)

    async def _save(self, attachment: AttachmentPublic, data: bytes) -> None:
        await self._picker.save_file(
            dialog_title="Save attachment", file_name=attachment.filename, src_bytes=data
        )

    def _open_edit(self, message: MessagePublic) -> None:
        self._activity()
        field = ft.TextField(
            value=message.body or "", multiline=True, min_lines=2, max_lines=6, autofocus=True
        )

        async def save(_: ft.ControlEvent) -> None:
            if (field.value or "").strip() and await self._store.edit(message, field.value or ""):
                self._close_dialog(None)

        self._show_dialog(
            ft.AlertDialog(
                title=ft.Text("Edit message"),
                content=ft.Semantics(identifier="edit-input", content=field),
                actions=[
                    ft.TextButton(content=ft.Text("Cancel"), on_click=self._close_dialog),
                    ft.FilledButton(content=ft.Text("Save"), on_click=save),
                ],
            )
        )

    def _open_retract(self, message: MessagePublic) -> None:
        self._activity()
        reason = ft.TextField(label="Reason (optional)", value="Entered in error")

        async def retract(_: ft.ControlEvent) -> None:
            text = (reason.value or "").strip()
            if await self._store.retract(message, text if len(text) >= 3 else None):
                self._close_dialog(None)

        self._show_dialog(
            ft.AlertDialog(
                title=ft.Text("Retract this message?"),
                content=ft.Column(
                    [
                        ft.Text(
                            "Everyone will see “Message retracted (entered in error)” instead. "
                            "The care team keeps the original in the record.",
                            size=15,
                        ),
                        reason,
                    ],
                    tight=True,
                    spacing=theme.SPACE_M,
                ),
                actions=[
                    ft.TextButton(content=ft.Text("Cancel"), on_click=self._close_dialog),
                    ft.FilledButton(content=ft.Text("Retract"), on_click=retract),
                ],
            )
        )

    def _show_dialog(self, dialog: ft.AlertDialog) -> None:
        self._dialog = dialog
        self._ctx.page.show_dialog(dialog)

    def _close_dialog(self, _: ft.ControlEvent | None) -> None:
        if self._dialog is not None:
            self._ctx.page.pop_dialog()
            self._dialog = None


# -- pieces -----------------------------------------------------------------------------------


def _handler(
    action: Callable[..., Awaitable[Any]], *args: Any
) -> Callable[[ft.ControlEvent], Awaitable[None]]:
    """An async click handler bound to `args` (Flet awaits only real coroutine functions, so
    a lambda returning a coroutine would never run)."""

    async def handle(_: ft.ControlEvent) -> None:
        await action(*args)

    return handle


def _labelled_icon(icon: ft.IconData, label: str, color: str | None = None) -> ft.Icon:
    """An icon a screen reader names (an icon-only button has no text of its own)."""
    return ft.Icon(icon, semantics_label=label, color=color)


def _title(conversation: ConversationPublic, staff: bool) -> str:
    if conversation.kind is ConversationKind.care_team:
        return f"{conversation.patient_name} · care team" if staff else "Your care team"
    return conversation.subject


def _list_subtitle(conversation: ConversationPublic, staff: bool, when: str) -> str:
    parts = []
    if conversation.kind is ConversationKind.care_team and not staff:
        parts.append(f"{possessive(conversation.patient_name)} care team")
    elif staff and conversation.kind is not ConversationKind.care_team:
        parts.append(conversation.patient_name)
    else:
        parts.append(f"{len(conversation.members)} people")
    if when:
        parts.append(when)
    return " · ".join(parts)


def _members_line(conversation: ConversationPublic, me: uuid.UUID | None) -> str:
    others = [m.full_name for m in conversation.members if m.user_id != me]
    if not others:
        return "Only you"
    shown = ", ".join(others[:4])
    return shown + (f" and {len(others) - 4} more" if len(others) > 4 else "")


def _typing_line(names: list[str]) -> str:
    if not names:
        return ""
    if len(names) == 1:
        return f"{names[0]} is typing…"
    return f"{', '.join(names[:-1])} and {names[-1]} are typing…"


def _seen_by(seen: SeenBy) -> ft.Control:
    text = f"Seen by {', '.join(seen.names)}" if seen.names else "Not seen yet"
    return ft.Semantics(
        identifier="seen-by",
        container=True,
        content=ft.Container(
            content=ft.Row(
                [
                    ft.Icon(
                        ft.Icons.DONE_ALL if seen.names else ft.Icons.DONE,
                        size=14,
                        color=theme.PRIMARY if seen.names else theme.TEXT_MUTED,
                    ),
                    ft.Text(text, size=12, color=theme.TEXT_MUTED),
                ],
                spacing=4,
                alignment=ft.MainAxisAlignment.END,
            ),
            padding=ft.Padding.only(right=4),
        ),
    )


def _bubble(
    *,
    identifier: str,
    mine: bool,
    content: ft.Control,
    actions: list[ft.Control],
    faded: bool = False,
) -> ft.Control:
    bubble = ft.Container(
        content=ft.Row(
            [ft.Container(content, expand=True), *actions],
            vertical_alignment=ft.CrossAxisAlignment.START,
            spacing=0,
        ),
        bgcolor=(theme.PRIMARY_SOFT if mine else theme.BACKGROUND),
        border=ft.Border.all(1, theme.BORDER) if not mine else None,
        border_radius=theme.RADIUS,
        padding=ft.Padding.only(left=12, right=4 if actions else 12, top=8, bottom=8),
        opacity=0.75 if faded else 1.0,
        expand=5,
    )
    spacer = ft.Container(expand=1)
    return ft.Semantics(
        identifier=identifier,
        container=True,
        content=ft.Row([spacer, bubble] if mine else [bubble, spacer], spacing=0),
    )


def _attachment_label(attachment: AttachmentPublic) -> ft.Control:
    return ft.Row(
        [
            ft.Icon(ft.Icons.ATTACH_FILE, size=16, color=theme.TEXT_MUTED),
            ft.Text(attachment.filename, size=14, color=theme.TEXT_MUTED),
        ],
        spacing=4,
    )


def _chip(text: str, color: str, background: str, icon: ft.IconData) -> ft.Container:
    return ft.Container(
        content=ft.Row(
            [ft.Icon(icon, size=14, color=color), ft.Text(text, size=12, color=color)],
            spacing=2,
            tight=True,
        ),
        bgcolor=background,
        border_radius=6,
        padding=ft.Padding.symmetric(horizontal=8, vertical=3),
        visible=True,
    )


def _kind_icon(kind: ConversationKind) -> ft.IconData:
    if kind is ConversationKind.care_team:
        return ft.Icons.GROUPS
    if kind is ConversationKind.direct:
        return ft.Icons.PERSON
    return ft.Icons.FORUM


def _short_time(moment: datetime | None) -> str:
    if moment is None:
        return ""
    local = moment.astimezone()
    now = datetime.now(UTC).astimezone()
    if local.date() == now.date():
        return f"{local:%-I:%M %p}"
    return f"{local:%b} {local.day}, {local:%-I:%M %p}"
