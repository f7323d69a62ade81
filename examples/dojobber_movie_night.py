#!/usr/bin/env python
"""Movie night: DoJobber's example graph, running on jobyard's ``dojobber`` module.

The goal is to watch a movie with friends. It is broken down into small idempotent
jobs; each one checks whether its part is done and, if not, does it:

    WatchMovie
    └── StartMovie
        ├── FriendsArrive ── InviteFriends ── DetermineDetails ─┬ ValidateMovie
        │                    (+ one invitation job per guest)   └ PickTimeAndDate
        ├── PrepareRoom ─┬ CleanCouch          (storage, Cleanup)
        │                └ FluffPillows        (RunonlyJob)
        ├── TurnOnTV ── FindTVRemote           (needs battery_state=charged)
        ├── InsertDVD ── ValidateMovie
        ├── SitOnCouch ── PrepareRoom          (needs couch_space)
        └── Food ─┬ Popcorn ── PopcornBowl     (TRIES 5 and 8: succeed on the last try)
                  └ Pizza                      (RunonlyJob, TRIES 3)

With the defaults the batteries are dead and the couch is full, so TurnOnTV and
SitOnCouch fail and the movie never starts; run it again with ``--battery-state
charged --couch-space`` and everything converges. The same graph runs with the CLI::

    jobyard converge examples/dojobber_movie_night.py:WatchMovie --retry-delay 0 \\
        movie=MST3K battery_state=charged couch_space=true

Each job takes the run's keyword arguments (``movie``, ``battery_state``,
``couch_space``, and ``bowl_success_try``/``pop_success_try``/``pizza_success_try``
to move the try on which the retrying jobs succeed; ``report``, a dict, receives
``duster_returned`` when CleanCouch's Cleanup runs).
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

import dojobber
from dojobber import DummyJob, Job, RunonlyJob

MOVIES = ("Noises Off", "MST3K", "Babylon 5")
SHOWTIMES = ("2024-04-08 18:18 UTC", "2099-09-14 16:57 UTC")

log = logging.getLogger("movie_night")


def _bump(store: dict[str, Any], key: str) -> int:
    """Count one more attempt in the run's global storage."""
    store[key] = store.get(key, 0) + 1
    return int(store[key])


class ValidateMovie(Job):
    """The requested movie must be on the shelf."""

    def Check(self, *_: Any, **kw: Any) -> None:
        if kw.get("movie") not in MOVIES:
            raise RuntimeError(f"{kw.get('movie')} not one of the available movies.")

    def Run(self, *_: Any, **kw: Any) -> None:
        """Nothing can make a missing movie appear."""


class PickTimeAndDate(Job):
    """Choose a showtime and keep it in global storage for the invitations."""

    def Check(self, *_: Any, **kw: Any) -> None:
        if not self.global_storage.get("showtime"):
            raise LookupError("no showtime picked yet")

    def Run(self, *_: Any, **kw: Any) -> None:
        self.global_storage["showtime"] = kw.get("showtime") or SHOWTIMES[0]


class DetermineDetails(DummyJob):
    DEPS = (ValidateMovie, PickTimeAndDate)


class InviteFriends(DummyJob):
    """Grows one dependency per guest (see :func:`invite_friends`)."""

    DEPS: list[Any] = [DetermineDetails]


class SendInvite(Job):
    """Template of the per-guest invitation jobs; never in a graph itself."""

    GUEST = ""
    DEPS = (DetermineDetails,)

    def Check(self, *_: Any, **kw: Any) -> None:
        sent = self.global_storage.setdefault("invitations", {})
        if self.GUEST not in sent:
            raise LookupError(f"{self.GUEST} has not been invited")

    def Run(self, *_: Any, **kw: Any) -> None:
        showtime = self.global_storage["showtime"]
        text = f"Come and watch {kw.get('movie')} at {showtime}!"
        self.global_storage.setdefault("invitations", {})[self.GUEST] = text
        log.info("invited %s: %s", self.GUEST, text)


def invite_friends(guests: list[str]) -> None:
    """Create an invitation job per guest (once per name) and add it to InviteFriends."""
    known = {getattr(dep, "__name__", "") for dep in InviteFriends.DEPS}
    for guest in guests:
        name = f"Invite {guest}"
        if name not in known:
            InviteFriends.DEPS.append(type(name, (SendInvite,), {"GUEST": guest}))
            known.add(name)


class FriendsArrive(Job):
    DEPS = (InviteFriends,)

    def Check(self, *_: Any, **kw: Any) -> None:
        """Everyone shows up in this story."""

    def Run(self, *_: Any, **kw: Any) -> None:
        """Nothing to do."""


class CleanCouch(Job):
    """Per-try storage: the check passes once this try's Run has dusted."""

    def Check(self, *_: Any, **kw: Any) -> None:
        if not self.storage.get("dusted"):
            raise ValueError("the couch is dusty")

    def Run(self, *_: Any, **kw: Any) -> None:
        self.storage["dusted"] = True
        self.global_storage["report"] = kw.get("report", {})

    def Cleanup(self) -> None:
        """Put the feather duster away (runs after the whole graph, LIFO)."""
        report = self.global_storage.get("report")
        if report is not None:
            report["duster_returned"] = True


class FluffPillows(RunonlyJob):
    """Always refluff: there is no way to check pillow fluffiness."""

    def Run(self, *_: Any, **kw: Any) -> str:
        return "fluffed"


class PrepareRoom(DummyJob):
    DEPS = (CleanCouch, FluffPillows)


class FindTVRemote(Job):
    def Check(self, *_: Any, **kw: Any) -> str:
        return "between the cushions"

    def Run(self, *_: Any, **kw: Any) -> None:
        """Already found."""


class TurnOnTV(Job):
    DEPS = (FindTVRemote,)

    def Check(self, *_: Any, **kw: Any) -> None:
        if kw.get("battery_state") != "charged":
            raise RuntimeError("Remote batteries are dead.")

    def Run(self, *_: Any, **kw: Any) -> None:
        """Wiggle the batteries; it never helps."""


class InsertDVD(Job):
    DEPS = (ValidateMovie,)

    def Check(self, *_: Any, **kw: Any) -> None:
        """The player is always loaded in this story."""

    def Run(self, *_: Any, **kw: Any) -> None:
        """Nothing to do."""


class SitOnCouch(Job):
    DEPS = (PrepareRoom,)

    def Check(self, *_: Any, **kw: Any) -> None:
        if not kw.get("couch_space"):
            raise RuntimeError("No space on couch.")

    def Run(self, *_: Any, **kw: Any) -> None:
        """Asking people to move over does not work."""


class PopcornBowl(DummyJob):
    """The dishwasher finishes on try ``bowl_success_try`` (default: the last one)."""

    TRIES = 8
    RETRY_DELAY = 0.001

    def Check(self, *_: Any, **kw: Any) -> None:
        wanted = kw.get("bowl_success_try") or self.TRIES
        if self.global_storage.get("bowl_runs", 0) < wanted:
            raise RuntimeError("Dishwasher cycle not done yet.")

    def Run(self, *_: Any, **kw: Any) -> None:
        _bump(self.global_storage, "bowl_runs")


class Popcorn(Job):
    """Pops on try ``pop_success_try``; fewer TRIES than the bowl it waits for."""

    DEPS = (PopcornBowl,)
    TRIES = PopcornBowl.TRIES - 3

    def Check(self, *_: Any, **kw: Any) -> None:
        wanted = kw.get("pop_success_try") or self.TRIES
        if self.global_storage.get("pop_runs", 0) < wanted:
            raise RuntimeError("Still popping...")

    def Run(self, *_: Any, **kw: Any) -> None:
        _bump(self.global_storage, "pop_runs")


class Pizza(RunonlyJob):
    """Arrives on try ``pizza_success_try`` (default: the last one)."""

    TRIES = 3

    def Run(self, *_: Any, **kw: Any) -> str:
        tries = _bump(self.global_storage, "pizza_runs")
        if tries < (kw.get("pizza_success_try") or self.TRIES):
            raise RuntimeError("The pizza has not arrived yet.")
        return "pepperoni"


class Food(DummyJob):
    DEPS = (Popcorn, Pizza)


class StartMovie(Job):
    DEPS = (FriendsArrive, PrepareRoom, TurnOnTV, InsertDVD, SitOnCouch, Food)

    def Check(self, *_: Any, **kw: Any) -> None:
        """Playing."""

    def Run(self, *_: Any, **kw: Any) -> None:
        """Press play."""


class WatchMovie(Job):
    DEPS = (StartMovie,)

    def Check(self, *_: Any, **kw: Any) -> None:
        """Enjoying it."""

    def Run(self, *_: Any, **kw: Any) -> None:
        """Sit back."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Get friends together to watch a movie.")
    parser.add_argument("-n", "--no-act", action="store_true", help="only run the checks")
    parser.add_argument("-v", "--verbose", action="store_true", help="a line per step")
    parser.add_argument("-d", "--debug", action="store_true", help="tracebacks too")
    parser.add_argument("--movie", default=MOVIES[0], help="try Zardoz to see it fail")
    parser.add_argument("--battery-state", default="dead", help="'charged' makes TurnOnTV pass")
    parser.add_argument("--couch-space", action="store_true", help="make SitOnCouch pass")
    parser.add_argument("--guest", action="append", default=[], help="invite someone")
    for job in ("bowl", "pop", "pizza"):
        parser.add_argument(f"--{job}-success-try", type=int, metavar="N")
    parser.add_argument("--retry-delay", type=float, default=0.0, help="default RETRY_DELAY")
    parser.add_argument("--graph", metavar="FILE.png", help="write the result graph (png)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    invite_friends(args.guest)
    report: dict[str, Any] = {}
    dojob = dojobber.DoJobber()
    dojob.configure(
        WatchMovie,
        no_act=args.no_act,
        verbose=args.verbose,
        debug=args.debug,
        default_retry_delay=args.retry_delay,
    )
    dojob.set_args(
        movie=args.movie,
        battery_state=args.battery_state,
        couch_space=args.couch_space,
        bowl_success_try=args.bowl_success_try,
        pop_success_try=args.pop_success_try,
        pizza_success_try=args.pizza_success_try,
        report=report,
    )
    dojob.checknrun()
    for name, status in dojob.nodestatus.items():
        mark = {True: "ok", False: "FAILED", None: "blocked"}[status]
        why = f"  ({dojob.nodeexceptions[name]})" if status is False else ""
        print(f"{mark:8} {name}{why}")
    print("movie night is on!" if dojob.success() else "no movie tonight.")
    if report.get("duster_returned"):
        print("(the feather duster was put away)")
    if args.graph:
        with open(args.graph, "wb") as out:
            dojob.write_graph(out, "png")
    return 0 if dojob.success() else 1


if __name__ == "__main__":
    sys.exit(main())
