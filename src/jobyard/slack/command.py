"""A slash command's text → jobs, with the rules of ``jobyard submit``: ``TYPE
[NODE,NODE] name=value ...`` split like a shell would (quotes group words), each value
read as the type's signature declares it (jobyard.nodes.typed_params), one job, or a
jobset of one job per node.

Creating is two steps so a thread can exist before the job does: :func:`check` refuses
what the create would refuse, without writing; :func:`create` writes (with the thread in
the props, so every event of the job knows where to go)."""

from __future__ import annotations

import shlex
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from jobyard import nodes
from jobyard.errors import InvalidInput
from jobyard.i18n import N_, _, n_
from jobyard.slack.mrkdwn import unescape
from jobyard.spec import parse_name

if TYPE_CHECKING:
    from jobyard.yard import Yard

MAX_TEXT = 4000
# Slack's "smart" quotes (typed on phones) as the plain ones shlex knows.
_QUOTES = str.maketrans({"\u201c": '"', "\u201d": '"', "\u2018": "'", "\u2019": "'"})

# A msgid: shown as _(HELP), in the language of the user who asks.
HELP = N_("""*/jobyard TYPE [NODE,NODE...] [name=value ...]* creates a job (one node, or none) \
or a jobset (one job per node). Values are read as the type's parameters declare them; \
quote a value with spaces: `msg="two words"`.
*/jobyard* or */jobyard new [TYPE]* opens a form: choose the type, the nodes and the parameters.
*/jobyard help* shows this.
The job's progress and outcome follow in the thread of the message it posts.""")


@dataclass(frozen=True)
class Order:
    """What a command asks for (checked by :func:`check`, written by :func:`create`)."""

    type_name: str
    nodes: list[str] | None
    data: dict[str, Any] | None


@dataclass(frozen=True)
class Created:
    jobs: list[int]
    jobset: int | None = None

    def summary(self) -> str:
        """ "job 12 created" / "jobset 5 created (3 jobs)"."""
        if self.jobset is not None:
            return n_(
                "jobset {jobset} created ({n} job)",
                "jobset {jobset} created ({n} jobs)",
                len(self.jobs),
                jobset=self.jobset,
            )
        return _("job {id} created", id=self.jobs[0])


def words(text: str) -> list[str]:
    """The command's words as a shell would split them."""
    if len(text) > MAX_TEXT:
        raise InvalidInput(_("the command is over {max} characters: shorten it", max=MAX_TEXT))
    try:
        return shlex.split(unescape(text).translate(_QUOTES))
    except ValueError as exc:  # an unclosed quote
        raise InvalidInput(_("cannot read the command: {exc}; close the quote", exc=exc)) from None


def parse(yard: Yard, args: list[str]) -> Order:
    """``TYPE [NODES] name=value ...`` → an Order (InvalidInput naming what is wrong)."""
    if not args:
        raise InvalidInput(_("give a job type: /jobyard TYPE [NODE,NODE] [name=value ...]"))
    type_name = parse_name(args[0], "job type")
    node_text, pairs = nodes.split_nodes(tuple(args[1:]))
    node_list = nodes.parse_nodes(node_text) if node_text is not None else None
    return Order(type_name, node_list, nodes.typed_params(yard, type_name, pairs) or None)


def _as_jobset(yard: Yard, order: Order) -> bool:
    return order.nodes is not None or order.type_name in yard.registry.abstract


def check(yard: Yard, order: Order, options: dict[str, Any]) -> None:
    """Refuse what :func:`create` would refuse (unknown or disabled type, a missing,
    unknown or ill-typed parameter, bad nodes), writing nothing."""
    if not _as_jobset(yard, order):
        yard.specs.build(order.type_name, order.data, options, time.time())
        yard.registry.check_data(order.type_name, order.data)
        return
    abstract = yard.registry.abstract.get(order.type_name)
    target = abstract.target if abstract is not None else order.type_name
    if order.nodes is not None:
        nodes.check(yard, target, order.nodes, order.data, options)
    else:  # an abstract type on every served node: the submit finds them
        yard.specs.build(target, order.data, options, time.time())
        yard.registry.check_data(target, order.data)


def create(yard: Yard, order: Order, options: dict[str, Any]) -> Created:
    if _as_jobset(yard, order):
        jobset, ids = yard.submit(order.type_name, order.nodes, order.data, **options)
        if len(ids) == 1 and order.type_name not in yard.registry.abstract:
            return Created(ids)  # one node: a job, as `jobyard submit` prints it
        return Created(ids, jobset)
    return Created([yard.enqueue(order.type_name, order.data, **options).id])


def describe(order: Order) -> str:
    """The order in words, for the thread's first message (the caller escapes it)."""
    what = order.type_name
    if order.nodes:
        what = _("{type} on {nodes}", type=what, nodes=", ".join(order.nodes))
    if order.data:
        what += " " + " ".join(f"{k}={v}" for k, v in order.data.items())
    return what
