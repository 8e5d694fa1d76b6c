"""Both fakes started together, with the settings that point CareCircle at them."""

from dataclasses import dataclass
from pathlib import Path

from tests.fakes.credentials import (
    APNS_KEY_ID,
    APNS_TEAM_ID,
    APNS_TOPIC,
    make_apns_key,
    make_service_account,
    make_tls,
)
from tests.fakes.fake_apns import FakeAPNs
from tests.fakes.fake_fcm import FakeFCM


@dataclass
class PushFakes:
    apns: FakeAPNs
    fcm: FakeFCM
    overrides: dict[str, object]

    def env(self) -> dict[str, str]:
        """The same settings as environment variables, for a dispatcher process."""
        return {name.upper(): str(value) for name, value in self.overrides.items()}

    def reset(self) -> None:
        for fake in (self.apns, self.fcm):
            fake.requests.clear()
            fake.problems.clear()
            fake.unregistered.clear()
            fake.bad_tokens.clear()
            fake.delay = 0.0
            fake._script.clear()

    def stop(self) -> None:
        self.apns.stop()
        self.fcm.stop()


def start_push_fakes(directory: Path) -> PushFakes:
    directory.mkdir(parents=True, exist_ok=True)
    tls = make_tls(directory)
    key = make_apns_key(directory)
    apns = FakeAPNs(tls=tls, public_key_pem=key.public_pem).start()
    fcm = FakeFCM().bind()
    account = make_service_account(directory, fcm.token_uri)
    fcm.start(account.public_pem, account.key_id)
    overrides: dict[str, object] = {
        "apns_key_path": str(key.path),
        "apns_key_id": APNS_KEY_ID,
        "apns_team_id": APNS_TEAM_ID,
        "apns_topic": APNS_TOPIC,
        "apns_endpoint": apns.endpoint,
        "apns_ca_file": str(tls.ca),
        "fcm_service_account_path": str(account.path),
        "fcm_endpoint": fcm.endpoint,
    }
    return PushFakes(apns=apns, fcm=fcm, overrides=overrides)
