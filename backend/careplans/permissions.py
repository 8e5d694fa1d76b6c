"""Who may do what with a patient's care plan, as dependencies on the patient in the path.

- read the current plan and Today: the patient, the care team, emergency access, and family
  whose grant includes `care_plan`;
- mark Today's items done or skipped: the patient, or such a family member (on their behalf);
- choose reminder times and quiet hours: the patient;
- edit the plan, apply templates: staff on the care team;
- read earlier versions, diffs, adherence and the FHIR export: the care team (or emergency).
"""

from typing import Annotated

from fastapi import Depends

from backend.careteam.access import PatientAccess
from backend.careteam.permissions import patient_access
from shared.enums import STAFF_ROLES, AccessBasis, GrantScope

PlanViewer = Annotated[
    PatientAccess,
    Depends(patient_access(scope=GrantScope.care_plan, doing="see this person's care plan")),
]
TodayMarker = Annotated[
    PatientAccess,
    Depends(
        patient_access(
            scope=GrantScope.care_plan,
            bases=frozenset({AccessBasis.self, AccessBasis.proxy}),
            doing="mark care-plan items (the patient or family they shared the plan with do)",
        )
    ),
]
ReminderChooser = Annotated[
    PatientAccess,
    Depends(
        patient_access(bases=frozenset({AccessBasis.self}), doing="choose the patient's reminders")
    ),
]
PlanEditor = Annotated[
    PatientAccess,
    Depends(
        patient_access(
            bases=frozenset({AccessBasis.care_team}),
            roles=STAFF_ROLES,
            doing="edit the care plan",
        )
    ),
]
PlanHistoryReader = Annotated[
    PatientAccess,
    Depends(
        patient_access(
            bases=frozenset({AccessBasis.care_team, AccessBasis.emergency}),
            roles=STAFF_ROLES,
            doing="see earlier plan versions and adherence",
        )
    ),
]
