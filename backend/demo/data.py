"""Who is in the demo organization. Plausible, invented people; conditions use SNOMED CT."""

from datetime import date

ORGANIZATION = "Riverside Community Health"
DOMAIN = "riverside.example"
DEMO_PASSWORD = "Demo-Care-2026"  # noqa: S105 (demo accounts only; printed by make run)

# (email local part, full name, role)
STAFF = [
    ("maria.lopez", "Maria Lopez", "care_manager"),
    ("james.carter", "James Carter", "navigator"),
    ("aisha.khan", "Aisha Khan", "navigator"),
    ("samuel.okafor", "Dr. Samuel Okafor", "clinician"),
    ("admin", "Riley Morgan", "admin"),
]

DIABETES = ("44054006", "Type 2 diabetes mellitus")
HYPERTENSION = ("38341003", "Hypertension")
HEART_FAILURE = ("84114007", "Heart failure")
COPD = ("13645005", "Chronic obstructive pulmonary disease")
DEPRESSION = ("35489007", "Depressive disorder")
CKD = ("709044004", "Chronic kidney disease")
ASTHMA = ("195967001", "Asthma")
AFIB = ("49436004", "Atrial fibrillation")
OBESITY = ("414916001", "Obesity")
ANXIETY = ("197480006", "Anxiety disorder")

# (MRN, given, family, birth date, sex, conditions, login email local part or None)
PATIENTS = [
    (
        "RCH-100001",
        "Robert",
        "Johnson",
        date(1951, 3, 14),
        "male",
        [DIABETES, HYPERTENSION],
        "robert.johnson",
    ),
    ("RCH-100002", "Evelyn", "Johnson", date(1953, 8, 2), "female", [HEART_FAILURE, AFIB], None),
    (
        "RCH-100003",
        "Maria",
        "Rivera",
        date(1962, 11, 23),
        "female",
        [DIABETES, DEPRESSION],
        "maria.rivera",
    ),
    ("RCH-100004", "Daniel", "Kim", date(1958, 5, 9), "male", [COPD], None),
    ("RCH-100005", "Thu", "Nguyen", date(1970, 1, 30), "female", [HYPERTENSION, CKD], None),
    ("RCH-100006", "Walter", "Brooks", date(1947, 7, 18), "male", [HEART_FAILURE, DIABETES], None),
    ("RCH-100007", "Gloria", "Adeyemi", date(1965, 4, 5), "female", [HYPERTENSION, OBESITY], None),
    ("RCH-100008", "Frank", "Kowalski", date(1955, 9, 27), "male", [COPD, DEPRESSION], None),
    ("RCH-100009", "Priya", "Raman", date(1978, 12, 12), "female", [DIABETES], None),
    ("RCH-100010", "Henry", "Whitfield", date(1949, 2, 21), "male", [AFIB, HYPERTENSION], None),
    ("RCH-100011", "Rosa", "Delgado", date(1960, 6, 16), "female", [ASTHMA, ANXIETY], None),
    ("RCH-100012", "Marcus", "Bell", date(1972, 10, 3), "male", [DEPRESSION, OBESITY], None),
    ("RCH-100013", "Helen", "Fischer", date(1944, 3, 29), "female", [HEART_FAILURE, CKD], None),
    ("RCH-100014", "Samuel", "Osei", date(1968, 8, 8), "male", [DIABETES, CKD], None),
    ("RCH-100015", "Linh", "Tran", date(1983, 5, 24), "female", [ASTHMA], None),
    (
        "RCH-100016",
        "George",
        "Papadopoulos",
        date(1952, 1, 11),
        "male",
        [COPD, HEART_FAILURE],
        None,
    ),
    ("RCH-100017", "Angela", "Russo", date(1975, 7, 7), "female", [DEPRESSION, ANXIETY], None),
    ("RCH-100018", "Joseph", "Yazzie", date(1959, 11, 2), "male", [DIABETES, HYPERTENSION], None),
    ("RCH-100019", "Carmen", "Ortiz", date(1966, 4, 19), "female", [OBESITY, DIABETES], None),
    ("RCH-100020", "William", "Chen", date(1950, 12, 30), "male", [AFIB, CKD], None),
    (
        "RCH-100021",
        "Dorothy",
        "Hughes",
        date(1941, 9, 14),
        "female",
        [HYPERTENSION, HEART_FAILURE],
        None,
    ),
    ("RCH-100022", "Ahmed", "Hassan", date(1973, 3, 3), "male", [ASTHMA, HYPERTENSION], None),
    ("RCH-100023", "Patricia", "Moreau", date(1957, 6, 26), "female", [COPD], None),
    ("RCH-100024", "Kevin", "O'Brien", date(1980, 2, 15), "male", [DEPRESSION], None),
    ("RCH-100025", "Harold", "Jenkins", date(1946, 10, 10), "male", [HEART_FAILURE, COPD], None),
]

# MRN -> staff email local parts on the team (besides the care manager, who is on every team
# except the last, which is left for the emergency-access walkthrough).
TEAM_EXTRA = {mrn: ["james.carter"] for mrn, *_ in PATIENTS[:13]} | {
    mrn: ["aisha.khan"] for mrn, *_ in PATIENTS[13:]
}
for mrn, *_ in PATIENTS[:10]:
    TEAM_EXTRA[mrn].append("samuel.okafor")
NO_CARE_MANAGER = {"RCH-100025"}

# (email local part, full name, [(MRN, relationship, scopes, grant state)])
# grant state: "active", "expires_90d", "expired", "revoked"
FAMILY = [
    (
        "linda.johnson",
        "Linda Johnson",
        [
            (
                "RCH-100001",
                "daughter",
                ["messages", "care_plan", "education", "appointments"],
                "active",
            ),
            ("RCH-100002", "daughter", ["care_plan", "appointments"], "expires_90d"),
        ],
    ),
    ("carlos.rivera", "Carlos Rivera", [("RCH-100003", "son", ["messages"], "active")]),
    (
        "grace.kim",
        "Grace Kim",
        [("RCH-100004", "spouse", ["messages", "care_plan", "assessments"], "expired")],
    ),
    ("tom.nguyen", "Tom Nguyen", [("RCH-100005", "brother", ["care_plan"], "revoked")]),
]
