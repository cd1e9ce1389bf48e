"""Several replicas (issue 23): the visitors benchmark (benchmarks/visitors.py: pages on the
wire, every visitor's tasks at once, each checked against the store and the PNG it was shown)
on one app replica and on two, in the same run, both on a throwaway PostgreSQL cluster
(Debian's `postgresql`, as the tests start it) and one outputs folder.

    python -m benchmarks.replicas [--visitors 50] [--tasks 3] [--scale 0.1]

With two, visitors' pages are spread over the replicas (a load balancer's sticky sessions)
and each replica gives the next one as its public address: every callback of the service
reaches the replica that does not follow its task, which stores the result and announces
it; the follower hears it (NOTIFY/LISTEN) and streams it to the visitor. The worst case for
the events across replicas, on purpose. Both replicas share this machine's CPUs, so two do
not have more CPU than one here: the figures show what the sharing costs, not a scale-out.
"""

from __future__ import annotations

import time

from benchmarks.visitors import Deployment, Run, load_arguments, measured, table
from tests.helpers.postgres import cluster, new_database


def main(argv: list[str] | None = None) -> None:
    args = load_arguments(__doc__ or "", argv)
    began = time.monotonic()
    runs: list[Run] = []
    with cluster() as server:
        if server is None:
            print("PostgreSQL is not installed here (Debian's `postgresql` package): "
                  "no replicas benchmark")
            return
        for replicas in (1, 2):
            deployment = Deployment(args.scale, args.concurrency, replicas=replicas,
                                    database_url=new_database(server))
            try:
                label = f"{replicas} replica{'s' if replicas > 1 else ''}: " \
                        f"{args.visitors} x {args.tasks}"
                runs.append(measured(deployment, label, args.visitors, args.tasks))
            finally:
                deployment.close()
    print(f"\n# replicas benchmark: txt2img 256x256, 20 steps at {args.scale} x real time; "
          f"backend generates {args.concurrency} at once; PostgreSQL store\n")
    table(runs)
    one, two = runs
    print(f"\napp CPU per task (the replicas together): {one.cpu_per_task:.0f} ms on one, "
          f"{two.cpu_per_task:.0f} ms on two (ratio {two.cpu_per_task / max(one.cpu_per_task, 1e-9):.2f})."
          "\nWith two, every callback reached the replica that did not follow its task. "
          "targets: 0 lost, 0 misrouted on both.\n"
          f"Ran {time.monotonic() - began:.0f} s.")


if __name__ == "__main__":
    main()
