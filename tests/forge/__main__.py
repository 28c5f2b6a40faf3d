"""``python -m tests.forge --data DIR [--data DIR ...] [--port 0] [knobs]``.

Prints exactly one line, ``listening on http://127.0.0.1:PORT``, once the socket accepts
connections, then serves until interrupted.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tests.forge.server import FAULT_KINDS, Emulator


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.forge", description=__doc__)
    parser.add_argument(
        "--data",
        action="append",
        required=True,
        type=Path,
        metavar="DIR",
        help="snapshot directory (repeatable; later ones overlay earlier ones)",
    )
    parser.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0: free)")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="added latency per response")
    parser.add_argument(
        "--rate-limit", type=int, default=5000, help="authenticated requests per hour"
    )
    parser.add_argument(
        "--graphql-rate-limit",
        type=int,
        default=5000,
        help="GraphQL points per hour (a bucket of its own, as on GitHub)",
    )
    parser.add_argument(
        "--anon-rate-limit",
        type=int,
        default=None,
        help="unauthenticated requests per hour (default min(60, --rate-limit))",
    )
    parser.add_argument(
        "--fail-rate",
        type=float,
        default=0.0,
        help="probability of injecting a fault into a response",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the fault generator")
    parser.add_argument(
        "--faults",
        default=",".join(FAULT_KINDS),
        help=f"comma-separated fault kinds to draw from ({','.join(FAULT_KINDS)})",
    )
    parser.add_argument("--slow-ms", type=float, default=1500.0, help="delay of the 'slow' fault")
    parser.add_argument("--log", type=Path, default=None, help="JSON-lines request log")
    args = parser.parse_args(argv)
    try:
        emulator = Emulator(
            *args.data,
            port=args.port,
            latency_ms=args.latency_ms,
            rate_limit=args.rate_limit,
            graphql_rate_limit=args.graphql_rate_limit,
            anon_rate_limit=args.anon_rate_limit,
            fail_rate=args.fail_rate,
            seed=args.seed,
            faults=tuple(f for f in args.faults.split(",") if f),
            slow_ms=args.slow_ms,
            log=args.log,
        )
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # PinnerError from the snapshot reader: one line, no traceback
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"listening on {emulator.url}", flush=True)
    try:
        emulator.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
