"""Run a task engine in a process of its own, to be killed with SIGKILL mid-task by a test.

    python -m tests.helpers.engine_process <backend url> <data dir>

Submits one 150-step text2image task in polling mode, prints its id once the service has
acknowledged it, then keeps following it until killed.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from tests.conftest import new_id, t2i
from tests.core.conftest import replica_of
from webui.api import ZhiqiteClient
from webui.api import models as m
from webui.api.validation import parse_request
from webui.core.engine import PollPolicy, TaskEngine
from webui.core.keys import Keys, load_or_create_key
from webui.core.outputs import OutputWriter
from webui.core.store import SQLiteTaskStore


def main(backend_url: str, data_dir: Path) -> None:
    store = SQLiteTaskStore.in_dir(data_dir)
    engine = TaskEngine(ZhiqiteClient(base_url=backend_url), store,
                        OutputWriter(data_dir / "outputs"), Keys(load_or_create_key(data_dir)),
                        policy=PollPolicy().scaled(0.01), holder=replica_of(data_dir))
    request = parse_request(m.Text2ImageRequest, t2i(new_id("killed"), steps=150))
    handle = engine.submit(request, owner="owner-a")
    while not store.get(handle.task_id).submitted:  # type: ignore[union-attr]
        time.sleep(0.005)
    print(handle.task_id, flush=True)
    time.sleep(60)


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))
