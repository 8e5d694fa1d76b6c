"""Learn: the reading the care team assigned first, then the library with search; the reader
renders the article's Markdown, records the read, and offers "I have a question", which sends
a message to the care-team thread linking the article."""

import flet as ft

from mobile_app import theme
from mobile_app.stores.patients import LoadState
from mobile_app.views import widgets
from mobile_app.views.base import StaticTab, TabContext
from shared.enums import GrantScope
from shared.schemas.education import ArticleSummary


def build_learn(ctx: TabContext):
    viewed = ctx.session.viewed_patient
    if (
        viewed is not None
        and viewed.scopes is not None
        and GrantScope.education not in viewed.scopes
    ):
        return StaticTab(
            widgets.empty_state(
                icon=ft.Icons.MENU_BOOK_OUTLINED,
                title=f"{viewed.name} hasn't shared their reading list with you",
                message="Ask them to add learning to what they share with you.",
                identifier="learn-empty",
            )
        )
    return LearnTab(ctx)


class LearnTab:
    def __init__(self, ctx: TabContext) -> None:
        assert ctx.careplan is not None
        self._ctx, self._store = ctx, ctx.careplan
        self._banner, self._show = widgets.banner("learn-banner")
        self._assigned = ft.Column(spacing=theme.SPACE_S)
        self._results = ft.Column(spacing=theme.SPACE_S)
        self._search = ft.TextField(
            label="Search articles", prefix_icon=ft.Icons.SEARCH, on_submit=self._on_search,
            border_radius=10,
        )  # fmt: skip
        self._reader = ft.Column(
            spacing=theme.SPACE_M, horizontal_alignment=ft.CrossAxisAlignment.STRETCH
        )
        self._list = ft.Column(
            [
                widgets.heading("Learn", identifier="learn-title"),
                widgets.muted("Reading your care team chose for you, in plain language."),
                ft.Text("Assigned to you", size=18, weight=ft.FontWeight.W_600),
                self._assigned,
                ft.Container(height=theme.SPACE_S),
                ft.Text("Library", size=18, weight=ft.FontWeight.W_600),
                self._search,
                self._results,
            ],
            spacing=theme.SPACE_S,
        )
        self.control = ft.Column([self._banner, self._list, self._reader], spacing=theme.SPACE_M)
        viewed = ctx.session.viewed_patient
        if viewed is not None and (
            self._store.patient_id != viewed.patient_id or self._store.learn_state is LoadState.idle
        ):
            ctx.page.run_task(self._store.load_learn, viewed.patient_id)
        self.refresh()

    async def _on_search(self, _) -> None:
        await self._store.search(self._search.value or "")

    def refresh(self) -> None:
        store = self._store
        self._show(store.error or store.message, "error" if store.error else "success")
        reading = store.article is not None
        self._list.visible = not reading
        self._reader.visible = reading
        if reading:
            self._render_reader()
            return
        assigned_slugs = {a.article.slug for a in store.assigned}
        self._assigned.controls = [
            self._card(a.article, read=a.first_read_at is not None, assigned=True)
            for a in store.assigned
        ] or [widgets.muted("Nothing assigned yet.")]
        self._results.controls = [
            self._card(a, read=False, assigned=False)
            for a in store.results
            if a.slug not in assigned_slugs
        ]

    def _card(self, article: ArticleSummary, *, read: bool, assigned: bool) -> ft.Control:
        async def open_it(_):
            await self._store.open_article(article.slug)

        badge = "Read" if read else "New" if assigned else None
        tile = ft.Semantics(
            identifier=f"article-{article.slug}",
            button=True,
            label=f"Open {article.title}",
            content=widgets.card(
                ft.Row(
                    [
                        ft.Icon(ft.Icons.ARTICLE_OUTLINED, color=theme.PRIMARY, size=28),
                        ft.Column(
                            [
                                ft.Text(article.title, size=17, weight=ft.FontWeight.W_600,
                                        color=theme.TEXT),
                                ft.Text(article.summary, size=14, color=theme.TEXT_MUTED),
                            ],
                            spacing=2, expand=True,
                        ),
                        *([ft.Container(
                            content=ft.Text(badge, size=13, color=theme.PRIMARY_DARK),
                            bgcolor=theme.PRIMARY_SOFT, border_radius=8,
                            padding=ft.Padding.symmetric(horizontal=8, vertical=4),
                        )] if badge else []),
                    ],
                    spacing=theme.SPACE_M,
                ),
                padding=theme.SPACE_M,
            ),
        )  # fmt: skip
        box = tile.content
        box.on_click, box.ink = open_it, True
        return tile

    def _render_reader(self) -> None:
        article = self._store.article
        assert article is not None
        question = ft.TextField(label="Your question", multiline=True, min_lines=2)

        async def ask(_):
            if (question.value or "").strip():
                await self._store.ask_question(question.value or "")

        self._reader.controls = [
            ft.Row([
                ft.TextButton(content=ft.Text("Back to Learn", size=15), icon=ft.Icons.ARROW_BACK,
                              on_click=lambda _: self._store.close_article()),
            ]),
            ft.Semantics(
                identifier="article-reader",
                container=True,
                content=widgets.card(ft.Markdown(article.body, selectable=True,
                                                 extension_set=ft.MarkdownExtensionSet.GITHUB_WEB)),
            ),
            widgets.card(ft.Column([
                ft.Text("I have a question", size=18, weight=ft.FontWeight.W_600),
                widgets.muted("Your care team will see which article you asked about."),
                question,
                ft.Semantics(identifier="ask-question", content=widgets.primary_button(
                    "Send to my care team", on_click=ask, icon=ft.Icons.SEND)),
            ], spacing=theme.SPACE_S)),
        ]  # fmt: skip
