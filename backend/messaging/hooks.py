"""What other domains call when who may see a patient's messages may have changed."""

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from backend.messaging import membership
from backend.patients.models import Patient


async def patient_access_changed(
    session: AsyncSession, patient_id: uuid.UUID, *, actor_id: uuid.UUID | None
) -> None:
    """A care-team member joined or left, or a grant was given, changed or withdrawn: bring the
    patient's conversations in line in this same transaction, and tell live sockets after it
    commits (through the hub the request put in `session.info`)."""
    await session.flush()
    patient = await session.get(Patient, patient_id)
    if patient is not None:
        await membership.sync_patient(
            session, patient, hub=session.info.get("hub"), actor_id=actor_id
        )
