"""Navigation per role, the width breakpoint, and the client's settings (no server needed)."""

from mobile_app.config import DEFAULT_API_URL, load_settings
from mobile_app.theme import fit_width
from mobile_app.views.shell import destinations_for, is_compact
from shared.enums import Role


def test_each_role_gets_its_destinations() -> None:
    def labels(role: Role) -> list[str]:
        return [d.label for d in destinations_for(role)]

    patient_side = ["Today", "Messages", "Care plan", "Learn", "Profile"]
    staff_side = ["My patients", "Messages", "Assessments", "Profile"]
    assert labels(Role.patient) == patient_side
    assert labels(Role.family) == patient_side
    assert labels(Role.navigator) == staff_side
    assert labels(Role.care_manager) == staff_side
    assert labels(Role.clinician) == staff_side
    assert labels(Role.admin) == ["Audit log", "Profile"]
    for role in Role:
        routes = [d.route for d in destinations_for(role)]
        assert len(routes) == len(set(routes))


def test_phones_get_the_bottom_bar_and_wider_screens_the_rail() -> None:
    assert is_compact(390)
    assert is_compact(599)
    assert not is_compact(600)
    assert not is_compact(1280)
    assert not is_compact(None)  # unknown width: assume a desktop browser


def test_columns_never_overflow_a_narrow_screen() -> None:
    assert fit_width(420, 360) == 360 - 32
    assert fit_width(420, 1280) == 420
    assert fit_width(760, 900, reserved=137) == 900 - 137 - 32
    assert fit_width(420, None) == 420


def test_settings_come_from_flags_then_environment() -> None:
    defaults = load_settings([], environ={})
    assert defaults.api_url == DEFAULT_API_URL
    assert defaults.host == "127.0.0.1"

    from_env = load_settings(
        [], environ={"CARECIRCLE_API_URL": "http://127.0.0.1:9000/", "CARECIRCLE_WEB_PORT": "9100"}
    )
    assert from_env.api_url == "http://127.0.0.1:9000"
    assert from_env.port == 9100

    from_flags = load_settings(
        ["--web", "--port", "9200", "--api-url", "http://127.0.0.1:9001"],
        environ={"CARECIRCLE_WEB_PORT": "9100"},
    )
    assert from_flags.port == 9200
    assert from_flags.api_url == "http://127.0.0.1:9001"


def test_the_idle_lock_can_be_shortened_but_never_lengthened() -> None:
    assert load_settings([], environ={}).idle_lock_seconds == 300
    assert load_settings(["--idle-lock-seconds", "60"], environ={}).idle_lock_seconds == 60
    assert (
        load_settings([], environ={"CARECIRCLE_IDLE_LOCK_SECONDS": "3600"}).idle_lock_seconds == 300
    )
    assert load_settings(["--idle-lock-seconds", "1"], environ={}).idle_lock_seconds == 10
