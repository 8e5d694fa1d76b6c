"""The care plan for a patient or family member: what changed since they last looked, goals
with progress, medicines with their times, and upcoming appointments."""

from datetime import UTC, datetime

import flet as ft

from mobile_app import theme
from mobile_app.stores.patients import LoadState
from mobile_app.views import widgets
from mobile_app.views.base import StaticTab, TabContext
from shared.enums import GrantScope


class CarePlanTab:
    def __init__(self, ctx: TabContext) -> None:
        assert ctx.careplan is not None
        self._store = ctx.careplan
        self.control = ft.Column(spacing=theme.SPACE_M)
        viewed = ctx.session.viewed_patient
        if viewed is not None:
            ctx.page.run_task(self._store.load_plan, viewed.patient_id)
        self.refresh()

    def refresh(self) -> None:
        plan = self._store.plan
        if plan is None:
            loading = self._store.plan_state in (LoadState.idle, LoadState.loading)
            self.control.controls = [
                widgets.empty_state(
                    icon=ft.Icons.ASSIGNMENT_OUTLINED,
                    title="Loading your care plan…" if loading else "No care plan yet",
                    message="Your care team will add goals, medicines and appointments here.",
                    identifier="care-plan-empty",
                )
            ]
            return
        content = plan.content
        sections: list[ft.Control] = [
            widgets.heading(content.title, identifier="care-plan-title"),
            *([widgets.muted(content.summary)] if content.summary else []),
        ]
        if plan.changes_since_last_seen:
            sections.append(self._section("What changed since you last looked", [
                f"{c.label}: {c.action.value}" for c in plan.changes_since_last_seen
            ], "care-plan-changes"))  # fmt: skip
        sections.append(self._section("Goals", [
            f"{g.title} — {g.measure}: {g.target}"
            + (f" (now {g.progress})" if g.progress else "")
            + (f", by {g.due_date:%b %d}" if g.due_date else "")
            + f" · {g.status.value.replace('_', ' ')}"
            for g in content.goals
        ], "care-plan-goals"))  # fmt: skip
        meds = [a for a in content.activities if a.kind == "medication"]
        sections.append(self._section("Medicines", [
            f"{m.drug} {m.dose} at " + ", ".join(t.strftime("%H:%M") for t in m.times)
            + (f" — {m.instructions}" if m.instructions else "")
            for m in meds
        ], "care-plan-medicines"))  # fmt: skip
        now = datetime.now(UTC)
        visits = sorted(
            (a for a in content.activities if a.kind == "appointment" and a.starts_at >= now),
            key=lambda a: a.starts_at,
        )
        sections.append(self._section("Upcoming appointments", [
            f"{v.title}, {v.starts_at.astimezone():%a %b %d, %H:%M}"
            + (f" with {v.with_whom}" if v.with_whom else "")
            + (f" at {v.location}" if v.location else "")
            + (f". {v.preparation}" if v.preparation else "")
            for v in visits
        ], "care-plan-appointments"))  # fmt: skip
        self.control.controls = sections

    @staticmethod
    def _section(title: str, lines: list[str], identifier: str) -> ft.Control:
        return ft.Semantics(
            identifier=identifier,
            container=True,
            content=widgets.card(ft.Column(
                [ft.Text(title, size=18, weight=ft.FontWeight.W_600, color=theme.TEXT)]
                + ([ft.Text(line, size=16, color=theme.TEXT) for line in lines]
                   or [widgets.muted("Nothing here yet.")]),
                spacing=theme.SPACE_S,
            )),
        )  # fmt: skip


def shares_care_plan(ctx: TabContext) -> bool:
    """False for a family member the patient has not shared the care plan with."""
    viewed = ctx.session.viewed_patient
    return viewed is None or viewed.scopes is None or GrantScope.care_plan in viewed.scopes


def build_care_plan(ctx: TabContext):
    viewed = ctx.session.viewed_patient
    if viewed is not None and not shares_care_plan(ctx):
        return StaticTab(
            widgets.empty_state(
                icon=ft.Icons.ASSIGNMENT_OUTLINED,
                title=f"{viewed.name} hasn't shared their care plan with you",
                message="Ask them to add the care plan to what they share with you.",
                identifier="care-plan-empty",
            )
        )
    return CarePlanTab(ctx)
