"""The organization's audit trail as an administrator reads it: newest first, page by page.

The server does the filtering (outcome, action) and the paging (a cursor of the last entry
seen), so what is shown is exactly what the trail holds, never a client-side guess. Actor ids
are turned into names with one GET /users per session; an entry whose actor is not on that list
(a system job, a removed account) still shows, with a stand-in name.

Everything here is PHI-adjacent (who opened whose record), so `reset` forgets it on sign-out.
"""

import re
import uuid

from mobile_app.api.client import ApiClient, ApiError
from mobile_app.stores.observable import Observable
from mobile_app.stores.patients import LoadState
from shared.enums import AuditOutcome
from shared.schemas.audit import AuditEntryPublic, AuditVerifyResult
from shared.schemas.identity import UserPublic

PAGE_SIZE = 50

ACTION_LABELS: dict[str, str] = {
    "auth.login": "Sign-in",
    "auth.revoke": "Sign-out",
    "auth.refresh": "Session renewed",
    "auth.refresh_reuse": "Reused sign-in token",
    "auth.unlock": "App unlocked",
    "auth.password_change": "Password changed",
    "access.role_denied": "Blocked for role",
    "audit.query": "Audit log viewed",
    "audit.verify": "Audit log verified",
    "careteam.add": "Added to care team",
    "careteam.read": "Care team viewed",
    "careteam.remove": "Removed from care team",
    "consent.grant": "Family access granted",
    "consent.read": "Family access viewed",
    "consent.update": "Family access changed",
    "consent.revoke": "Family access revoked",
    "demo.seed": "Demo data loaded",
    "invitation.create": "Invitation sent",
    "invitation.accept": "Invitation accepted",
    "invitation.revoke": "Invitation withdrawn",
    "patient.create": "Patient added",
    "patient.list": "Patient list viewed",
    "patient.read": "Patient record opened",
    "patient.access_denied": "Record access denied",
    "patient.emergency_access": "Emergency access",
    "user.activate": "Account reactivated",
    "user.deactivate": "Account deactivated",
}


def action_label(action: str) -> str:
    """Plain words for an action code ("auth.login" -> "Sign-in"); unknown codes as they are."""
    return ACTION_LABELS.get(action, action)


def _squash(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.casefold())


def action_filter(text: str) -> str | None:
    """The action code to ask the server for: a plain label ("sign in", "Sign-in") or a code
    ("auth.login") typed by the administrator; None when the field is empty."""
    wanted = text.strip()
    if not wanted:
        return None
    squashed = _squash(wanted)
    for code, label in ACTION_LABELS.items():
        if squashed in (_squash(label), _squash(code)):
            return code
    return wanted.casefold()


class AuditLogStore(Observable):
    def __init__(self, api: ApiClient, *, page_size: int = PAGE_SIZE) -> None:
        super().__init__()
        self._api = api
        self._page_size = page_size
        self._generation = 0
        self.state = LoadState.idle
        self.entries: list[AuditEntryPublic] = []
        self.next_cursor: str | None = None
        self.loading_more = False
        self.error: str | None = None
        self.outcome: AuditOutcome | None = None
        self.action_query = ""
        self.users: dict[uuid.UUID, UserPublic] = {}
        self._users_loaded = False
        self.verifying = False
        self.verify_result: AuditVerifyResult | None = None
        self.verify_error: str | None = None

    # -- reading -----------------------------------------------------------------------------

    @property
    def action(self) -> str | None:
        """The action code the list is filtered by, if any."""
        return action_filter(self.action_query)

    @property
    def filtered(self) -> bool:
        return self.outcome is not None or self.action is not None

    async def load(self) -> None:
        """Read the newest page for the current filters (replacing what was shown)."""
        self._generation += 1
        generation = self._generation
        self.state = LoadState.loading
        self.loading_more = False
        self.error = None
        self._notify()
        await self._load_users()
        try:
            page = await self._api.query_audit(
                outcome=self.outcome, action=self.action, limit=self._page_size
            )
        except ApiError as exc:
            if generation == self._generation:
                self.state = LoadState.failed
                self.error = exc.message
                self._notify()
            return
        if generation != self._generation:
            return  # the filters changed while this answer was on its way
        self.entries = page.data
        self.next_cursor = page.next_cursor
        self.state = LoadState.loaded
        self._notify()

    async def load_more(self) -> None:
        """Append the next older page, if there is one."""
        if self.next_cursor is None or self.loading_more or self.state is not LoadState.loaded:
            return
        generation = self._generation
        self.loading_more = True
        self.error = None
        self._notify()
        try:
            page = await self._api.query_audit(
                outcome=self.outcome,
                action=self.action,
                cursor=self.next_cursor,
                limit=self._page_size,
            )
        except ApiError as exc:
            if generation == self._generation:
                self.loading_more = False
                self.error = exc.message
                self._notify()
            return
        if generation != self._generation:
            return
        seen = {entry.id for entry in self.entries}
        self.entries = self.entries + [e for e in page.data if e.id not in seen]
        self.next_cursor = page.next_cursor
        self.loading_more = False
        self._notify()

    async def set_outcome(self, outcome: AuditOutcome | None) -> None:
        if outcome == self.outcome and self.state is LoadState.loaded:
            return
        self.outcome = outcome
        await self.load()

    async def set_action_query(self, text: str) -> None:
        self.action_query = text.strip()
        await self.load()

    # -- actors ------------------------------------------------------------------------------

    async def _load_users(self) -> None:
        """Fetch the organization's people once; without them the list still shows, by id."""
        if self._users_loaded:
            return
        try:
            page = await self._api.list_users()
        except ApiError:
            return  # names are a nicety; the next load tries again
        self.users = {user.id: user for user in page.data}
        self._users_loaded = True

    def actor_name(self, entry: AuditEntryPublic) -> str:
        if entry.actor_id is None:
            return "CareCircle (system)"
        user = self.users.get(entry.actor_id)
        if user is None:
            return f"Unknown user {str(entry.actor_id)[:8]}"
        return user.full_name

    # -- integrity ---------------------------------------------------------------------------

    async def verify(self) -> None:
        """Ask the server to walk the hash chain; the answer stays until the next check."""
        if self.verifying:
            return
        self.verifying = True
        self.verify_result = None
        self.verify_error = None
        self._notify()
        try:
            self.verify_result = await self._api.verify_audit()
        except ApiError as exc:
            self.verify_error = exc.message
        self.verifying = False
        self._notify()

    def reset(self) -> None:
        """Forget the trail and the people in it, e.g. on sign-out."""
        self._generation += 1
        self.state = LoadState.idle
        self.entries = []
        self.next_cursor = None
        self.loading_more = False
        self.error = None
        self.outcome = None
        self.action_query = ""
        self.users = {}
        self._users_loaded = False
        self.verifying = False
        self.verify_result = None
        self.verify_error = None
        self._notify()
