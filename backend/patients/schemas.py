"""Patient models; the public ones are the API contract in `shared.schemas.patients`."""

from shared.schemas.patients import ConditionPublic, PatientCreate, PatientDetail, PatientSummary

__all__ = ["ConditionPublic", "PatientCreate", "PatientDetail", "PatientSummary"]
