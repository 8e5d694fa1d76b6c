"""The rules of care plans: one plan per patient, replaced whole and versioned on every edit;
Today derived from it; marks recorded as adherence; reminders replanned after each change."""

import uuid
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.careplans import adherence as adherence_rules
from backend.careplans import templates
from backend.careplans.fhir_export import care_plan_bundle
from backend.careplans.models import (
    CarePlan,
    CarePlanSeen,
    CarePlanVersion,
    Reminder,
    ReminderSetting,
    TodayMark,
)
from backend.careplans.today import apply_marks, day_bounds, derive_today, local_date_of
from backend.careplans.versioning import diff
from backend.careteam.access import PatientAccess
from backend.core.errors import Conflict, NotFound, Unprocessable
from backend.core.types import utcnow
from backend.education import service as education
from backend.education.models import Article
from backend.identity.models import User
from backend.patients.models import Patient
from shared.enums import AccessBasis, ArticleAssignmentSource, ReminderStatus, TodayItemStatus
from shared.schemas.careplans import (
    AdherenceReport,
    CarePlanContent,
    CarePlanPublic,
    CarePlanWrite,
    Change,
    EducationActivity,
    MarkIn,
    ReminderSettings,
    TemplateApply,
    TodayItem,
    TodayList,
    VersionDetail,
    VersionSummary,
)

MARK_DAYS_BACK = 7
"""How far back an item can still be marked (a forgotten evening dose the next morning)."""


def zone_of(patient: Patient) -> ZoneInfo:
    try:
        return ZoneInfo(patient.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local_today(patient: Patient, now: datetime | None = None) -> date:
    return local_date_of(now or utcnow(), zone_of(patient))


async def plan_of(session: AsyncSession, patient_id: uuid.UUID) -> CarePlan | None:
    return await session.scalar(select(CarePlan).where(CarePlan.patient_id == patient_id))


def content_of(plan: CarePlan) -> CarePlanContent:
    return CarePlanContent.model_validate(plan.content)


async def _name(session: AsyncSession, user_id: uuid.UUID | None) -> str | None:
    if user_id is None:
        return None
    user = await session.get(User, user_id)
    return user.full_name if user else None


# -- writing -----------------------------------------------------------------------------------


def _give_ids(content: CarePlanContent) -> CarePlanContent:
    for entry in [*content.goals, *content.activities]:
        if entry.id is None:
            entry.id = uuid.uuid4().hex[:12]
    return content


async def _check_articles(session: AsyncSession, content: CarePlanContent) -> dict[str, Article]:
    """Every education activity names a library article (422 otherwise); fills its title."""
    slugs = [a.article_slug for a in content.activities if isinstance(a, EducationActivity)]
    found = await education.titles(session, slugs)
    unknown = sorted(set(slugs) - found.keys())
    if unknown:
        raise Unprocessable(
            "Some reading is not in the library: " + ", ".join(unknown),
            code="unknown_article",
            fields=[
                {"field": "body.content.activities", "message": f"unknown article {s}"}
                for s in unknown
            ],
        )
    for activity in content.activities:
        if isinstance(activity, EducationActivity):
            activity.title = found[activity.article_slug]
    if not slugs:
        return {}
    rows = await session.scalars(select(Article).where(Article.slug.in_(slugs)))
    return {a.slug: a for a in rows.all()}


async def save(
    session: AsyncSession,
    *,
    access: PatientAccess,
    content: CarePlanContent,
    base_version: int | None,
    note: str | None,
) -> CarePlanPublic:
    """Replace the plan with `content` as a new version (or create version 1). Nothing is
    written when the plan changed since `base_version` (409) or an article is unknown (422)."""
    patient = access.patient
    content = _give_ids(content)
    articles = await _check_articles(session, content)
    plan = await plan_of(session, patient.id)
    now = utcnow()
    if plan is not None and base_version is not None and base_version != plan.version:
        raise Conflict(
            f"Someone saved version {plan.version} of this plan after the version "
            f"{base_version} you edited. Reload it and make your change again.",
            code="version_conflict",
        )
    old = content_of(plan) if plan is not None else None
    changes = diff(old, content)
    if plan is not None and not changes:
        return await _public(session, plan, access)
    stored = content.model_dump(mode="json")
    if plan is None:
        plan = CarePlan(
            patient_id=patient.id,
            version=1,
            content=stored,
            updated_by_id=access.principal.id,
            updated_at=now,
        )
        session.add(plan)
        await session.flush()
    else:
        plan.version += 1
        plan.content = stored
        plan.updated_at = now
        plan.updated_by_id = access.principal.id
    plan.reminders_until = None
    session.add(
        CarePlanVersion(
            plan_id=plan.id,
            version=plan.version,
            content=stored,
            changes=[c.model_dump(mode="json") for c in changes],
            note=note,
            changed_by_id=access.principal.id,
            changed_at=now,
        )
    )
    await _forget_future_reminders(session, patient.id, now)
    for activity in content.activities:
        if isinstance(activity, EducationActivity):
            await education.ensure_assigned(
                session,
                patient_id=patient.id,
                patient_user_id=patient.user_id,
                article=articles[activity.article_slug],
                actor_id=access.principal.id,
                source=ArticleAssignmentSource.plan,
            )
    access.record(
        session,
        "careplan.update",
        resource_type="care_plan",
        resource_id=plan.id,
        detail={"version": plan.version, "changes": len(changes)},
    )
    await session.flush()
    return await _public(session, plan, access)


async def write(session: AsyncSession, *, access: PatientAccess, data: CarePlanWrite):
    return await save(
        session, access=access, content=data.content, base_version=data.base_version, note=data.note
    )


async def apply_template(
    session: AsyncSession, *, access: PatientAccess, data: TemplateApply
) -> CarePlanPublic:
    if data.template_key not in templates.templates():
        raise NotFound("There is no plan template with this key.", code="unknown_template")
    existing = await plan_of(session, access.patient.id)
    if existing is not None and not data.replace:
        raise Conflict(
            "This patient already has a care plan. Edit it, or apply the template with "
            "`replace` to start over (the current plan stays in the version history).",
            code="plan_exists",
        )
    start = data.start_date or local_today(access.patient)
    content = templates.materialize(data.template_key, start=start, zone=zone_of(access.patient))
    name = templates.templates()[data.template_key]["title"]
    return await save(
        session,
        access=access,
        content=content,
        base_version=existing.version if existing else None,
        note=f"Started from the {name} template",
    )


async def _forget_future_reminders(session: AsyncSession, patient_id, now: datetime) -> None:
    """Pending reminders were never sent: the scheduler plans them again from the new plan or
    settings."""
    await session.execute(
        delete(Reminder).where(
            Reminder.patient_id == patient_id,
            Reminder.status == ReminderStatus.pending,
            Reminder.due_at > now,
        )
    )


# -- reading -----------------------------------------------------------------------------------


async def _public(
    session: AsyncSession,
    plan: CarePlan,
    access: PatientAccess,
    changes: list[Change] | None = None,
    seen: int | None = None,
) -> CarePlanPublic:
    return CarePlanPublic(
        id=plan.id,
        patient_id=plan.patient_id,
        version=plan.version,
        content=content_of(plan),
        updated_at=plan.updated_at,
        updated_by_name=await _name(session, plan.updated_by_id),
        changes_since_last_seen=changes or [],
        last_seen_version=seen,
    )


async def _require_plan(session: AsyncSession, patient_id: uuid.UUID) -> CarePlan:
    plan = await plan_of(session, patient_id)
    if plan is None:
        raise NotFound("No care plan has been made for this patient yet.", code="no_plan")
    return plan


async def _version(session: AsyncSession, plan: CarePlan, version: int) -> CarePlanVersion:
    row = await session.scalar(
        select(CarePlanVersion).where(
            CarePlanVersion.plan_id == plan.id, CarePlanVersion.version == version
        )
    )
    if row is None:
        raise NotFound(f"This plan has no version {version}.", code="no_version")
    return row


async def current(session: AsyncSession, *, access: PatientAccess) -> CarePlanPublic:
    """The current plan. The patient and family also get what changed since they last looked,
    and that version is remembered as seen."""
    plan = await _require_plan(session, access.patient.id)
    access.record(
        session,
        "careplan.read",
        resource_type="care_plan",
        resource_id=plan.id,
        detail={"version": plan.version},
    )
    if access.basis not in (AccessBasis.self, AccessBasis.proxy):
        return await _public(session, plan, access)
    seen = await session.get(CarePlanSeen, (plan.id, access.principal.id))
    changes: list[Change] = []
    seen_version = seen.version if seen else None
    if seen is not None and seen.version < plan.version:
        before = await _version(session, plan, seen.version)
        changes = diff(CarePlanContent.model_validate(before.content), content_of(plan))
    if seen is None:
        session.add(
            CarePlanSeen(plan_id=plan.id, user_id=access.principal.id, version=plan.version)
        )
    else:
        seen.version, seen.seen_at = plan.version, utcnow()
    await session.flush()
    return await _public(session, plan, access, changes, seen_version)


async def versions(session: AsyncSession, *, access: PatientAccess) -> list[VersionSummary]:
    plan = await _require_plan(session, access.patient.id)
    rows = (
        await session.scalars(
            select(CarePlanVersion)
            .where(CarePlanVersion.plan_id == plan.id)
            .order_by(CarePlanVersion.version.desc())
        )
    ).all()
    access.record(
        session,
        "careplan.history",
        resource_type="care_plan",
        resource_id=plan.id,
        detail={"count": len(rows)},
    )
    return [
        VersionSummary(
            version=r.version,
            changed_at=r.changed_at,
            changed_by_name=await _name(session, r.changed_by_id),
            note=r.note,
            changes=[Change.model_validate(c) for c in r.changes],
        )
        for r in rows
    ]


async def version_detail(
    session: AsyncSession, *, access: PatientAccess, version: int
) -> VersionDetail:
    plan = await _require_plan(session, access.patient.id)
    row = await _version(session, plan, version)
    access.record(
        session,
        "careplan.version_read",
        resource_type="care_plan",
        resource_id=plan.id,
        detail={"version": version},
    )
    return VersionDetail(
        version=row.version,
        changed_at=row.changed_at,
        changed_by_name=await _name(session, row.changed_by_id),
        note=row.note,
        changes=[Change.model_validate(c) for c in row.changes],
        content=CarePlanContent.model_validate(row.content),
    )


async def compare(
    session: AsyncSession,
    *,
    access: PatientAccess,
    from_version: int | None,
    to_version: int | None,
) -> list[Change]:
    plan = await _require_plan(session, access.patient.id)
    new = await _version(session, plan, to_version or plan.version)
    old = await _version(session, plan, from_version or max(1, new.version - 1))
    access.record(
        session,
        "careplan.diff",
        resource_type="care_plan",
        resource_id=plan.id,
        detail={"from": old.version, "to": new.version},
    )
    return diff(
        CarePlanContent.model_validate(old.content), CarePlanContent.model_validate(new.content)
    )


async def fhir(session: AsyncSession, *, access: PatientAccess) -> dict[str, Any]:
    plan = await _require_plan(session, access.patient.id)
    access.record(
        session,
        "careplan.export",
        resource_type="care_plan",
        resource_id=plan.id,
        detail={"version": plan.version},
    )
    return care_plan_bundle(plan, content_of(plan), access.patient)


# -- Today and adherence -------------------------------------------------------------------------


async def _marks(session, patient_id, since: date) -> dict[str, TodayMark]:
    rows = await session.scalars(
        select(TodayMark).where(TodayMark.patient_id == patient_id, TodayMark.local_date >= since)
    )
    return {m.item_key: m for m in rows.all()}


async def today(
    session: AsyncSession, *, access: PatientAccess, day: date | None, now: datetime | None = None
) -> TodayList:
    now = now or utcnow()
    patient = access.patient
    zone = zone_of(patient)
    day = day or local_date_of(now, zone)
    plan = await plan_of(session, patient.id)
    items: list[TodayItem] = []
    if plan is not None:
        items = derive_today(content_of(plan), day, zone)
        stored = await _marks(session, patient.id, day)
        marks = {k: (m.status, m.reason) for k, m in stored.items() if m.local_date == day}
        read = await education.read_slugs(session, patient.id)
        for item in items:
            slug = (item.link or "").removeprefix("/learn/")
            if item.link and item.key not in marks and slug in read:
                marks[item.key] = (TodayItemStatus.done, None)
        items = apply_marks(items, marks, now)
    access.record(
        session,
        "careplan.today",
        resource_type="care_plan",
        resource_id=plan.id if plan else None,
        detail={"items": len(items)},
    )
    done = sum(1 for i in items if i.status is not TodayItemStatus.due)
    return TodayList(
        patient_id=patient.id, date=day, timezone=zone.key, items=items, done=done, total=len(items)
    )


def _parse_key(key: str) -> tuple[str, date] | None:
    parts = key.split(":")
    if len(parts) not in (2, 4):
        return None
    try:
        return parts[0], date.fromisoformat(parts[1])
    except ValueError:
        return None


async def mark(
    session: AsyncSession, *, access: PatientAccess, data: MarkIn, now: datetime | None = None
) -> TodayItem:
    """Record an item done or skipped. The item must be one this patient's plan asks for on
    its day (404 otherwise: another patient's item is not found here), from up to a week ago
    until today."""
    now = now or utcnow()
    patient = access.patient
    zone = zone_of(patient)
    parsed = _parse_key(data.item_key)
    plan = await plan_of(session, patient.id)
    item = None
    if parsed is not None and plan is not None:
        _, day = parsed
        item = next(
            (i for i in derive_today(content_of(plan), day, zone) if i.key == data.item_key), None
        )
    if item is None or plan is None or parsed is None:
        raise NotFound("This item is not on this patient's care plan.", code="no_such_item")
    today_local = local_date_of(now, zone)
    day = parsed[1]
    if day > today_local or day < today_local - timedelta(days=MARK_DAYS_BACK):
        raise Unprocessable(
            f"Only items from the last {MARK_DAYS_BACK} days up to today can be marked.",
            code="outside_marking_window",
        )
    row = await session.scalar(
        select(TodayMark).where(
            TodayMark.patient_id == patient.id, TodayMark.item_key == data.item_key
        )
    )
    if row is None:
        row = TodayMark(
            patient_id=patient.id,
            item_key=data.item_key,
            activity_id=item.activity_id,
            kind=item.kind,
            local_date=day,
            due_at=item.due_at,
            status=data.status,
            reason=data.reason,
            recorded_by_id=access.principal.id,
        )
        session.add(row)
    row.status = data.status
    row.reason = data.reason.strip() if data.reason and data.status == "skipped" else None
    row.recorded_by_id = access.principal.id
    row.on_behalf = access.basis == AccessBasis.proxy
    row.recorded_at = now
    access.record(
        session,
        "careplan.mark",
        resource_type="care_plan",
        resource_id=plan.id,
        detail={"status": data.status},
    )
    await session.flush()
    item.status, item.reason = TodayItemStatus(row.status), row.reason
    item.overdue = False
    return item


async def adherence(
    session: AsyncSession, *, access: PatientAccess, days: int, now: datetime | None = None
) -> AdherenceReport:
    now = now or utcnow()
    patient = access.patient
    zone = zone_of(patient)
    plan = await _require_plan(session, patient.id)
    today_local = local_date_of(now, zone)
    rows = (
        await session.scalars(
            select(CarePlanVersion)
            .where(CarePlanVersion.plan_id == plan.id)
            .order_by(CarePlanVersion.version)
        )
    ).all()
    parsed = [(r.changed_at, CarePlanContent.model_validate(r.content)) for r in rows]

    def plan_on(day: date) -> CarePlanContent | None:
        end = day_bounds(day, zone)[1]
        in_force = [content for changed_at, content in parsed if changed_at < end]
        return in_force[-1] if in_force else None

    start = today_local - timedelta(days=days - 1)
    marks = {k: m.status for k, m in (await _marks(session, patient.id, start)).items()}
    overall, medications, other = adherence_rules.compute(
        plan_on=plan_on, marks=marks, today=today_local, days=days, zone=zone, now=now
    )
    access.record(
        session,
        "careplan.adherence",
        resource_type="care_plan",
        resource_id=plan.id,
        detail={"days": days},
    )
    return AdherenceReport(
        patient_id=patient.id, days=days, overall=overall, medications=medications, other=other
    )


# -- reminder settings ---------------------------------------------------------------------------


def _settings_public(row: ReminderSetting | None) -> ReminderSettings:
    if row is None:
        return ReminderSettings()
    return ReminderSettings(
        medication_reminders=row.medication_reminders,
        appointment_reminders=row.appointment_reminders,
        appointment_lead_minutes=row.appointment_lead_minutes,
        quiet_hours_start=row.quiet_hours_start,
        quiet_hours_end=row.quiet_hours_end,
        medication_times=row.medication_times or {},
    )


async def reminder_settings(session: AsyncSession, *, access: PatientAccess) -> ReminderSettings:
    access.record(session, "careplan.reminder_settings_read", resource_type="reminder_setting")
    return _settings_public(await session.get(ReminderSetting, access.patient.id))


async def update_reminder_settings(
    session: AsyncSession, *, access: PatientAccess, data: ReminderSettings
) -> ReminderSettings:
    patient = access.patient
    plan = await plan_of(session, patient.id)
    if data.medication_times:
        known = set()
        if plan is not None:
            known = {a.id for a in content_of(plan).activities if a.kind == "medication"}
        unknown = sorted(set(data.medication_times) - known)
        if unknown:
            raise Unprocessable(
                "Reminder times name medications that are not on the plan.",
                code="unknown_medication",
                fields=[
                    {"field": f"body.medication_times.{k}", "message": "not on the plan"}
                    for k in unknown
                ],
            )
    row = await session.get(ReminderSetting, patient.id)
    if row is None:
        row = ReminderSetting(patient_id=patient.id)
        session.add(row)
    row.medication_reminders = data.medication_reminders
    row.appointment_reminders = data.appointment_reminders
    row.appointment_lead_minutes = data.appointment_lead_minutes
    row.quiet_hours_start = data.quiet_hours_start
    row.quiet_hours_end = data.quiet_hours_end
    row.medication_times = {
        k: [t.strftime("%H:%M") for t in v] for k, v in data.medication_times.items()
    }
    row.updated_at = utcnow()
    if plan is not None:
        plan.reminders_until = None
    await _forget_future_reminders(session, patient.id, utcnow())
    access.record(session, "careplan.reminder_settings_update", resource_type="reminder_setting")
    await session.flush()
    return _settings_public(row)
