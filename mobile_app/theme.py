"""The calm clinical look: one palette, one type scale, one spacing scale for every screen.

Colors are chosen for contrast first (body text on the background is above WCAG AA 4.5:1), and
the accent is a muted teal rather than a loud brand color, because people open this app when
they are worried about their health.
"""

import flet as ft

PRIMARY = "#0B6E79"
PRIMARY_DARK = "#084F57"
PRIMARY_SOFT = "#DCEFF0"
BACKGROUND = "#F4F7F8"
SURFACE = "#FFFFFF"
BORDER = "#DDE5E8"
TEXT = "#1B2A30"
TEXT_MUTED = "#51626A"
ERROR = "#B3261E"
ERROR_SOFT = "#FBE9E7"
SUCCESS = "#1E6B3A"
SUCCESS_SOFT = "#E3F2E8"
WARNING = "#8A4B00"
WARNING_SOFT = "#FDF1E0"

SPACE_XS = 4
SPACE_S = 8
SPACE_M = 16
SPACE_L = 24
SPACE_XL = 32

RADIUS = 12
CONTENT_MAX_WIDTH = 760
FORM_MAX_WIDTH = 420
COMPACT_BREAKPOINT = 600
"""Below this width the app uses a bottom NavigationBar, above it a NavigationRail."""

TOUCH_TARGET = 48
"""Minimum height of anything tappable (Material and WCAG 2.5.5 guidance)."""


def build_theme() -> ft.Theme:
    return ft.Theme(
        color_scheme_seed=PRIMARY,
        color_scheme=ft.ColorScheme(
            primary=PRIMARY,
            on_primary="#FFFFFF",
            primary_container=PRIMARY_SOFT,
            on_primary_container=PRIMARY_DARK,
            surface=SURFACE,
            on_surface=TEXT,
            on_surface_variant=TEXT_MUTED,
            outline_variant=BORDER,
            error=ERROR,
        ),
        scaffold_bgcolor=BACKGROUND,
        # Switching tabs replaces the whole view; a route animation would slide the
        # navigation itself, so screens change in place instead.
        page_transitions=ft.PageTransitionsTheme(
            android=ft.PageTransitionTheme.NONE,
            ios=ft.PageTransitionTheme.NONE,
            linux=ft.PageTransitionTheme.NONE,
            macos=ft.PageTransitionTheme.NONE,
            windows=ft.PageTransitionTheme.NONE,
        ),
        use_material3=True,
        card_theme=ft.CardTheme(
            color=SURFACE,
            elevation=0,
            shape=ft.RoundedRectangleBorder(radius=RADIUS),
            margin=0,
        ),
        navigation_bar_theme=ft.NavigationBarTheme(
            bgcolor=SURFACE, indicator_color=PRIMARY_SOFT, elevation=2
        ),
        navigation_rail_theme=ft.NavigationRailTheme(
            bgcolor=SURFACE, indicator_color=PRIMARY_SOFT, elevation=0
        ),
        appbar_theme=ft.AppBarTheme(bgcolor=SURFACE, color=TEXT, elevation=0),
    )


def fit_width(max_width: float, available: float | None, *, reserved: float = 0) -> float:
    """The widest a column may be: `max_width`, or less on a narrow screen (Flet has no
    max-width constraint, so screens are rebuilt with this when the window width changes)."""
    if available is None:
        return max_width
    return max(240.0, min(max_width, available - reserved - 2 * SPACE_M))
