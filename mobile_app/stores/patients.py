"""The staff member's patient list ("My patients"), exactly as the API returns it.

The server decides who is on the list (patients on the caller's care teams); the client only
loads, orders and presents it, and forgets it on sign-out.
"""

from datetime import date
from enum import StrEnum

from mobile_app.api.client import ApiClient, ApiError
from mobile_app.stores.observable import Observable
from shared.schemas.patients import PatientSummary


class LoadState(StrEnum):
    idle = "idle"
    loading = "loading"
    loaded = "loaded"
    failed = "failed"


class PatientListStore(Observable):
    def __init__(self, api: ApiClient) -> None:
        super().__init__()
        self._api = api
        self.state = LoadState.idle
        self.patients: list[PatientSummary] = []
        self.total = 0
        self.error: str | None = None

    async def load(self) -> None:
        """Fetch the list; a failure keeps what was shown before and explains why."""
        if self.state is LoadState.loading:
            return
        self.state = LoadState.loading
        self.error = None
        self._notify()
        try:
            page = await self._api.list_patients()
        except ApiError as exc:
            self.state = LoadState.failed
            self.error = exc.message
            self._notify()
            return
        self.patients = sorted(page.data, key=_by_family_name)
        self.total = page.count
        self.state = LoadState.loaded
        self._notify()

    def reset(self) -> None:
        """Forget every patient, e.g. on sign-out, so no PHI outlives the session."""
        self.state = LoadState.idle
        self.patients = []
        self.total = 0
        self.error = None
        self._notify()


def _by_family_name(patient: PatientSummary) -> tuple[str, str]:
    """Clinic lists are read by family name ("Johnson, Robert")."""
    return (patient.full_name.split()[-1].casefold(), patient.full_name.casefold())


def age_on(birth_date: date, today: date) -> int:
    """Age in whole years, as a clinician would say it."""
    had_birthday = (today.month, today.day) >= (birth_date.month, birth_date.day)
    return today.year - birth_date.year - (0 if had_birthday else 1)
