"""Who is on the viewed patient's care team: real people the patient or family can name.

Kept per patient: when a family member switches to another relative, the old list is dropped
before the new one loads, so one relative's team is never shown under another's name.
"""

import uuid
from datetime import UTC, datetime

from mobile_app.api.client import ApiClient, ApiError
from mobile_app.stores.observable import Observable
from mobile_app.stores.patients import LoadState
from shared.enums import TeamRole
from shared.schemas.patients import CareTeamMemberPublic

TEAM_ORDER = (TeamRole.care_manager, TeamRole.navigator, TeamRole.clinician, TeamRole.social_worker)


class CareTeamStore(Observable):
    def __init__(self, api: ApiClient) -> None:
        super().__init__()
        self._api = api
        self.patient_id: uuid.UUID | None = None
        self.state = LoadState.idle
        self.members: list[CareTeamMemberPublic] = []
        self.error: str | None = None

    async def load(self, patient_id: uuid.UUID) -> None:
        if patient_id != self.patient_id:
            self.members = []
        self.patient_id = patient_id
        self.state = LoadState.loading
        self.error = None
        self._notify()
        try:
            page = await self._api.list_care_team(str(patient_id))
        except ApiError as exc:
            if patient_id == self.patient_id:
                self.state = LoadState.failed
                self.error = exc.message
                self._notify()
            return
        if patient_id != self.patient_id:
            return  # the person switched patients while this answer was on its way
        now = datetime.now(UTC)
        current = [m for m in page.data if m.end_at is None or m.end_at > now]
        self.members = sorted(current, key=lambda m: (TEAM_ORDER.index(m.team_role), m.full_name))
        self.state = LoadState.loaded
        self._notify()

    def reset(self) -> None:
        self.patient_id = None
        self.state = LoadState.idle
        self.members = []
        self.error = None
        self._notify()
