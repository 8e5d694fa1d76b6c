"""Small building blocks every screen shares, so spacing, type and semantics stay consistent."""

from collections.abc import Callable
from enum import StrEnum
from typing import Any

import flet as ft

from mobile_app import theme

Handler = Callable[[Any], Any]


def heading(text: str, *, size: int = 24, identifier: str | None = None) -> ft.Control:
    """A screen or section title that screen readers announce as a heading."""
    return ft.Semantics(
        header=True,
        identifier=identifier,
        content=ft.Text(text, size=size, weight=ft.FontWeight.W_600, color=theme.TEXT),
    )


def muted(text: str, *, size: int = 15) -> ft.Text:
    return ft.Text(text, size=size, color=theme.TEXT_MUTED)


def card(content: ft.Control, *, padding: int = theme.SPACE_L) -> ft.Container:
    return ft.Container(
        content=content,
        padding=padding,
        bgcolor=theme.SURFACE,
        border=ft.Border.all(1, theme.BORDER),
        border_radius=theme.RADIUS,
    )


def empty_state(*, icon: ft.IconData, title: str, message: str, identifier: str) -> ft.Control:
    """An honest "nothing here yet" panel: what will appear here and who adds it."""
    return ft.Semantics(
        identifier=identifier,
        container=True,
        content=card(
            ft.Column(
                [
                    ft.Container(
                        content=ft.Icon(icon, size=32, color=theme.PRIMARY),
                        bgcolor=theme.PRIMARY_SOFT,
                        border_radius=40,
                        width=72,
                        height=72,
                        alignment=ft.Alignment.CENTER,
                    ),
                    ft.Text(
                        title,
                        size=18,
                        weight=ft.FontWeight.W_600,
                        color=theme.TEXT,
                        text_align=ft.TextAlign.CENTER,
                    ),
                    ft.Text(
                        message,
                        size=15,
                        color=theme.TEXT_MUTED,
                        text_align=ft.TextAlign.CENTER,
                    ),
                ],
                horizontal_alignment=ft.CrossAxisAlignment.CENTER,
                spacing=theme.SPACE_M,
            ),
            padding=theme.SPACE_XL,
        ),
    )


class BannerKind(StrEnum):
    error = "error"
    notice = "notice"


def banner(identifier: str) -> tuple[ft.Container, Callable[[str | None, BannerKind], None]]:
    """A message strip that is hidden until `show(text, kind)` fills it in.

    It is a live region so a screen reader announces a failed sign-in without moving focus.
    """
    icon = ft.Icon(ft.Icons.ERROR_OUTLINE, size=20)
    text = ft.Text("", size=15, expand=True)
    container = ft.Container(
        visible=False,
        padding=ft.Padding.symmetric(horizontal=theme.SPACE_M, vertical=12),
        border_radius=8,
        content=ft.Semantics(
            identifier=identifier,
            live_region=True,
            content=ft.Row([icon, text], spacing=theme.SPACE_S),
        ),
    )

    def show(message: str | None, kind: BannerKind = BannerKind.error) -> None:
        container.visible = bool(message)
        text.value = message or ""
        is_error = kind is BannerKind.error
        icon.icon = ft.Icons.ERROR_OUTLINE if is_error else ft.Icons.CHECK_CIRCLE_OUTLINE
        color = theme.ERROR if is_error else theme.SUCCESS
        icon.color = color
        text.color = color
        container.bgcolor = theme.ERROR_SOFT if is_error else theme.SUCCESS_SOFT

    return container, show


def primary_button(
    label: str, *, on_click: Handler, icon: ft.IconData | None = None
) -> ft.FilledButton:
    return ft.FilledButton(
        content=ft.Text(label, size=16, weight=ft.FontWeight.W_600),
        icon=icon,
        on_click=on_click,
        height=theme.TOUCH_TARGET,
        style=ft.ButtonStyle(shape=ft.RoundedRectangleBorder(radius=10)),
    )


def secondary_button(
    label: str, *, on_click: Handler, icon: ft.IconData | None = None
) -> ft.OutlinedButton:
    return ft.OutlinedButton(
        content=ft.Text(label, size=16),
        icon=icon,
        on_click=on_click,
        height=theme.TOUCH_TARGET,
        style=ft.ButtonStyle(shape=ft.RoundedRectangleBorder(radius=10)),
    )


def text_field(
    label: str,
    *,
    identifier: str,
    password: bool = False,
    autofocus: bool = False,
    on_submit: Handler | None = None,
    keyboard_type: ft.KeyboardType = ft.KeyboardType.TEXT,
    autofill: ft.AutofillHint | None = None,
) -> tuple[ft.Control, ft.TextField]:
    """A labelled input; returns the semantics wrapper to place and the field to read."""
    field = ft.TextField(
        label=label,
        password=password,
        autofocus=autofocus,
        on_submit=on_submit,
        keyboard_type=keyboard_type,
        autofill_hints=autofill,
        autocorrect=False,
        enable_suggestions=not password,
        border_radius=10,
        text_size=16,
        bgcolor=theme.SURFACE,
        border_color=theme.BORDER,
        focused_border_color=theme.PRIMARY,
    )
    if password:
        field.suffix_icon = _reveal_toggle(field)
    return ft.Semantics(identifier=identifier, content=field), field


def _reveal_toggle(field: ft.TextField) -> ft.IconButton:
    """Show/hide for a password, with a spoken label (Flet's built-in eye has none)."""
    toggle = ft.IconButton(icon=ft.Icons.VISIBILITY_OUTLINED, tooltip="Show password")

    def flip(_: ft.ControlEvent) -> None:
        field.password = not field.password
        toggle.icon = (
            ft.Icons.VISIBILITY_OUTLINED if field.password else (ft.Icons.VISIBILITY_OFF_OUTLINED)
        )
        toggle.tooltip = "Show password" if field.password else "Hide password"

    toggle.on_click = flip
    return toggle


class FormFrame:
    """A narrow form centered on any width, scrolling when the keyboard takes the space.

    Flet has no max-width constraint, so the width is set from the page width, and changed in
    place on resize: rebuilding would throw away what the person was typing.
    """

    def __init__(self, content: ft.Control, page_width: float | None) -> None:
        self._box = ft.Container(
            content=content,
            width=theme.fit_width(theme.FORM_MAX_WIDTH, page_width),
            padding=ft.Padding.symmetric(vertical=theme.SPACE_XL),
        )
        self.control = ft.Column(
            [self._box],
            horizontal_alignment=ft.CrossAxisAlignment.CENTER,
            alignment=ft.MainAxisAlignment.CENTER,
            scroll=ft.ScrollMode.AUTO,
            expand=True,
        )

    def set_width(self, page_width: float | None) -> None:
        self._box.width = theme.fit_width(theme.FORM_MAX_WIDTH, page_width)


def brand_mark(size: int = 56) -> ft.Control:
    """The CareCircle mark: a soft circle with a heart, decorative for screen readers."""
    return ft.Semantics(
        exclude_semantics=True,
        content=ft.Container(
            content=ft.Icon(ft.Icons.FAVORITE_ROUNDED, color="#FFFFFF", size=size * 0.5),
            bgcolor=theme.PRIMARY,
            width=size,
            height=size,
            border_radius=size / 2,
            alignment=ft.Alignment.CENTER,
        ),
    )
