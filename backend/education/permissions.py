"""Who may do what with a patient's reading list.

- see it and open assigned articles: the patient, the care team, emergency access, and family
  whose grant includes `education`;
- record a read: the patient or such a family member;
- assign articles: staff on the care team.
The library itself (no patient data) is open to everyone signed in.
"""

from typing import Annotated

from fastapi import Depends

from backend.careteam.access import PatientAccess
from backend.careteam.permissions import patient_access
from shared.enums import STAFF_ROLES, AccessBasis, GrantScope

ReadingListViewer = Annotated[
    PatientAccess,
    Depends(patient_access(scope=GrantScope.education, doing="see this person's reading list")),
]
ArticleReader = Annotated[
    PatientAccess,
    Depends(
        patient_access(
            scope=GrantScope.education,
            bases=frozenset({AccessBasis.self, AccessBasis.proxy}),
            doing="record reading (the patient or family they shared it with do)",
        )
    ),
]
ArticleAssigner = Annotated[
    PatientAccess,
    Depends(
        patient_access(
            bases=frozenset({AccessBasis.care_team}),
            roles=STAFF_ROLES,
            doing="assign reading",
        )
    ),
]
