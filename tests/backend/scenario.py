"""One organization with every kind of principal around one patient, plus outsiders: the cast
of the authorization matrix and the consent tests."""

from dataclasses import dataclass, field
from datetime import timedelta

from backend.careteam.models import CareTeamMember, ProxyGrant
from backend.core.db import Database
from backend.core.types import utcnow
from backend.identity.models import Organization, User
from backend.patients.models import Patient
from shared.enums import GrantScope, Role
from tests import factories as f


@dataclass
class World:
    org: Organization
    patient: Patient
    patient_user: User
    care_manager: User
    navigator: User
    clinician: User
    admin: User
    family_full: User
    family_limited: User
    family_expired: User
    other_staff: User
    other_patient_user: User
    other_patient: Patient
    foreign_staff: User
    grant_full: ProxyGrant
    grant_limited: ProxyGrant
    care_manager_membership: CareTeamMember
    navigator_membership: CareTeamMember
    users: dict[str, User] = field(default_factory=dict)


async def build_world(db: Database) -> World:
    org = await f.create_org(db)
    patient_user = await f.create_user(db, org, Role.patient, name="Rosa Patient")
    patient = await f.create_patient(
        db, org, user=patient_user, given_name="Rosa", family_name="Patient"
    )
    care_manager = await f.create_user(db, org, Role.care_manager, name="Cara Manager")
    navigator = await f.create_user(db, org, Role.navigator, name="Nate Navigator")
    clinician = await f.create_user(db, org, Role.clinician, name="Dr. Clara Clinician")
    admin = await f.create_user(db, org, Role.admin, name="Adam Admin")
    family_full = await f.create_user(db, org, Role.family, name="Fiona Family")
    family_limited = await f.create_user(db, org, Role.family, name="Lou Limited")
    family_expired = await f.create_user(db, org, Role.family, name="Ed Expired")
    other_staff = await f.create_user(db, org, Role.navigator, name="Olga Otherteam")
    other_patient_user = await f.create_user(db, org, Role.patient, name="Otto Patient")
    other_patient = await f.create_patient(db, org, user=other_patient_user, given_name="Otto")
    foreign_org = await f.create_org(db, "Far Away Health")
    foreign_staff = await f.create_user(db, foreign_org, Role.care_manager, name="Fred Foreign")

    cm_member = await f.add_to_team(db, patient, care_manager)
    nav_member = await f.add_to_team(db, patient, navigator)
    await f.add_to_team(db, patient, clinician)
    await f.add_to_team(db, other_patient, other_staff)
    grant_full = await f.create_grant(db, patient, family_full, list(GrantScope))
    grant_limited = await f.create_grant(db, patient, family_limited, [GrantScope.care_plan])
    await f.create_grant(
        db, patient, family_expired, list(GrantScope), expires_at=utcnow() - timedelta(minutes=1)
    )
    world = World(
        org=org,
        patient=patient,
        patient_user=patient_user,
        care_manager=care_manager,
        navigator=navigator,
        clinician=clinician,
        admin=admin,
        family_full=family_full,
        family_limited=family_limited,
        family_expired=family_expired,
        other_staff=other_staff,
        other_patient_user=other_patient_user,
        other_patient=other_patient,
        foreign_staff=foreign_staff,
        grant_full=grant_full,
        grant_limited=grant_limited,
        care_manager_membership=cm_member,
        navigator_membership=nav_member,
    )
    world.users = {
        "patient": patient_user,
        "care_manager": care_manager,
        "navigator": navigator,
        "clinician": clinician,
        "admin": admin,
        "family_full": family_full,
        "family_limited": family_limited,
        "family_expired": family_expired,
        "other_team_staff": other_staff,
        "other_patient": other_patient_user,
        "foreign_staff": foreign_staff,
    }
    return world
