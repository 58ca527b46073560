"""A separate process sharing one FileStorage (run by test_concurrency.py).

    python -m tests.client.proc_worker PATH MODE CLOCK_OFFSET GATE_DIR NAME

MODE ``get``: one get_session() (clock moved by CLOCK_OFFSET); prints the access token.
MODE ``stress``: 10 forced refreshes, each followed by a write of its own key.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from cognito_gate.client import FileStorage, current_user


def main() -> None:
    path, mode, offset = sys.argv[1], sys.argv[2], float(sys.argv[3])
    gate, name = Path(sys.argv[4]), sys.argv[5]
    storage = FileStorage(path)
    user = current_user(storage, clock=lambda: time.time() + offset)
    # Start together, to meet on the lock: say "ready", wait for "go".
    (gate / f"ready.{name}").touch()
    while not (gate / "go").exists():
        time.sleep(0.001)
    if mode == "get":
        print(user.get_session().access_token.jwt_token)
        return
    for n in range(1, 11):
        user.refresh_session()
        storage.set_item(f"cognito-gate.test.{name}", str(n))
    print(user.get_session().access_token.jwt_token)


if __name__ == "__main__":
    main()
