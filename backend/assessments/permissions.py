"""Who may do what with a patient's assessments, as dependencies on the patient in the path.

- see the questionnaires sent to a patient: the patient, the care team, emergency access, and
  family whose grant includes `assessments`;
- answer them: the patient, or such a family member (recorded as answering on their behalf);
- send, cancel, and acknowledge alerts: staff on the care team;
- see scores, results, trends and alerts: the care team (or emergency access).
"""

from typing import Annotated

from fastapi import Depends

from backend.careteam.access import PatientAccess
from backend.careteam.permissions import patient_access
from shared.enums import STAFF_ROLES, AccessBasis, GrantScope

AssessmentViewer = Annotated[
    PatientAccess,
    Depends(patient_access(scope=GrantScope.assessments, doing="see this person's questionnaires")),
]
AssessmentAnswerer = Annotated[
    PatientAccess,
    Depends(
        patient_access(
            scope=GrantScope.assessments,
            bases=frozenset({AccessBasis.self, AccessBasis.proxy}),
            doing="answer questionnaires (the patient or family they shared them with answer)",
        )
    ),
]
AssessmentManager = Annotated[
    PatientAccess,
    Depends(
        patient_access(
            bases=frozenset({AccessBasis.care_team}),
            roles=STAFF_ROLES,
            doing="send questionnaires or acknowledge their alerts",
        )
    ),
]
ResultsReader = Annotated[
    PatientAccess,
    Depends(
        patient_access(
            bases=frozenset({AccessBasis.care_team, AccessBasis.emergency}),
            roles=STAFF_ROLES,
            doing="see assessment scores",
        )
    ),
]
