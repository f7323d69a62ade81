"""jobyard's own converge API: :class:`Node` classes run by the shared runner.

A node says what it depends on, how to check that its goal holds, and how to get there::

    from jobyard.converge import Group, Node, converge

    class PackageInstalled(Node):
        def __init__(self, host: str, package: str) -> None:
            super().__init__(host=host, package=package)
            self.host, self.package = host, package

        def requires(self):
            return [HostReachable(host=self.host)]

        def check(self):
            return has_package(self.host, self.package)   # False or an exception = not yet

        def run(self):
            install(self.host, self.package)

    class Fleet(Group):                                  # one node per host, from the arguments
        def requires(self):
            return [PackageInstalled(host=h, package="nginx") for h in self.args["hosts"]]

    result = converge(Fleet, args={"hosts": ["web1", "web2"]})

Rules: ``deps``/``requires()`` list Node classes (built without parameters), Node instances
(their parameters are part of their identity: ``PackageInstalled[host=web1, package=nginx]``)
or node names. A node's constructor must pass its parameters to ``super().__init__`` as
keywords: every try gets a fresh object built as ``type(node)(**node.params)``. During a
try ``self.args`` holds the run's arguments, ``self.storage`` a dict fresh on every try and
``self.shared`` a dict shared by the whole run. ``check()`` fails by raising or by
returning ``False``. The semantics (phases, tries, blocking, no-act) are DoJobber's.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any, ClassVar

from jobyard.converge.model import (
    DepsError,
    Described,
    Graph,
    GraphError,
    NodeSpec,
    build,
    validate_retry_delay,
    validate_tries,
)
from jobyard.converge.runner import Phase
from jobyard.errors import ConvergeError
from jobyard.i18n import _

__all__ = [
    "Action",
    "Group",
    "Node",
    "NodeDriver",
    "NotConverged",
    "build_node_graph",
    "is_native",
]


class NotConverged(ConvergeError):
    """A check found its goal not reached (``check()`` returned False, or an Action)."""


class Node:
    """A converge node. Override :meth:`check` and :meth:`run` (and maybe :meth:`cleanup`)."""

    #: dependencies: Node classes, Node instances or node names
    deps: ClassVar[Sequence[Any]] = ()
    #: tries allowed (None: the runner's default, 3)
    tries: ClassVar[float | None] = None
    #: seconds between two tries of this node (None: the runner's default, 1)
    retry_delay: ClassVar[float | None] = None
    #: optional name template, formatted with the parameters, e.g. ``"ping {host}"``
    label: ClassVar[str | None] = None

    def __init__(self, **params: Any) -> None:
        self.params: dict[str, Any] = dict(params)
        self.args: Mapping[str, Any] = MappingProxyType({})
        self.storage: dict[str, Any] = {}
        self.shared: dict[str, Any] = {}
        self.phase: Phase = "check"
        self.run_result: Any = None
        self.run_error: BaseException | None = None

    @property
    def node_name(self) -> str:
        """The node's unique name in its graph."""
        if self.label is not None:
            return self.label.format(**self.params)
        name = type(self).__name__
        if not self.params:
            return name
        return name + "[" + ", ".join(f"{k}={v}" for k, v in self.params.items()) + "]"

    def requires(self) -> Iterable[Any]:
        """Dependencies of this node; defaults to ``deps``. ``self.args`` is set."""
        return self.deps

    def check(self) -> object:
        raise NotImplementedError(f"{self.node_name} defines no check()")

    def run(self) -> object:
        raise NotImplementedError(f"{self.node_name} defines no run()")

    def cleanup(self) -> None:
        """Called after the run for every object the runner created, last first."""

    def __repr__(self) -> str:
        return f"<{self.node_name}>"


class Group(Node):
    """A node that only groups its dependencies: check and run always pass."""

    def check(self) -> object:
        return None

    def run(self) -> object:
        return None


class Action(Node):
    """A node without a check: ``run()`` runs on every try, passing unless it raises.

    Its result is ``run()``'s return value. In no-act mode it never passes.
    """

    def check(self) -> object:
        if self.phase == "check":
            raise NotConverged(
                _("{node_name} is an action: it always runs", node_name=self.node_name)
            )
        if self.run_error is not None:
            raise self.run_error
        return self.run_result


def is_native(root: object) -> bool:
    """Whether ``root`` is a native Node (class or instance) rather than a DoJobber job."""
    return isinstance(root, Node) or (isinstance(root, type) and issubclass(root, Node))


def _frozen(params: Mapping[str, Any]) -> Hashable:
    return tuple(sorted((key, repr(value)) for key, value in params.items()))


def describe_node(
    ref: object, args: Mapping[str, Any], default_tries: float, default_retry_delay: float
) -> Described:
    """What :func:`jobyard.converge.model.build` needs to know about a node reference."""
    if isinstance(ref, str):
        return Described(ref, (), default_tries, default_retry_delay, ref, ref, True)
    if isinstance(ref, type) and issubclass(ref, Node):
        try:
            node = ref()
        except Exception:
            # A broken constructor: the node fails when it is tried, like in DoJobber.
            name = ref.label or ref.__name__
            deps = tuple(ref.deps)
            tries = validate_tries(name, default_tries if ref.tries is None else ref.tries)
            delay = ref.retry_delay
            delay = validate_retry_delay(name, default_retry_delay if delay is None else delay)
            return Described(name, deps, tries, delay, ref, (ref, ()))
    elif isinstance(ref, Node):
        node = ref
    else:
        raise DepsError(_("{ref!r} is not a Node class, a Node or a node name", ref=ref))
    node.args = MappingProxyType(dict(args))
    name = node.node_name
    tries = validate_tries(name, default_tries if node.tries is None else node.tries)
    delay = node.retry_delay
    delay = validate_retry_delay(name, default_retry_delay if delay is None else delay)
    try:
        wanted = node.requires()
        if isinstance(wanted, str | bytes):
            raise TypeError("a string")
        deps = tuple(wanted)
    except TypeError as err:
        raise DepsError(
            _("dependencies of {name} are not an iterable of nodes ({err})", name=name, err=err)
        ) from None
    except Exception as err:
        raise GraphError(
            _(
                "{name}.requires() failed: {name2}: {err}",
                name=name,
                name2=type(err).__name__,
                err=err,
            )
        ) from err
    return Described(name, deps, tries, delay, node, (type(node), _frozen(node.params)))


def build_node_graph(
    root: object,
    args: Mapping[str, Any] | None = None,
    default_tries: float = 3,
    default_retry_delay: float = 1,
) -> Graph:
    """The graph under a native root; ``args`` are visible to ``requires()``."""
    given = dict(args or {})
    return build(
        root,
        lambda ref: describe_node(ref, given, default_tries, default_retry_delay),
        strict_names=True,
    )


class NodeDriver:
    """Runner driver for native nodes."""

    def create(self, spec: NodeSpec) -> object:
        target = spec.target
        if isinstance(target, str):
            raise GraphError(_("no node named {target!r} in the graph", target=target))
        if isinstance(target, type):
            return target()
        assert isinstance(target, Node)
        return type(target)(**target.params)

    def bind(
        self,
        obj: object,
        storage: dict[str, Any],
        shared: dict[str, Any],
        args: tuple[Any, ...],
        kwargs: Mapping[str, Any],
    ) -> None:
        assert isinstance(obj, Node)
        obj.storage = storage
        obj.shared = shared
        obj.args = MappingProxyType(dict(kwargs))

    def check(
        self, obj: object, phase: Phase, args: tuple[Any, ...], kwargs: Mapping[str, Any]
    ) -> object:
        assert isinstance(obj, Node)
        obj.phase = phase
        result = obj.check()
        if result is False:
            raise NotConverged(_("{node_name}: check() returned False", node_name=obj.node_name))
        return result

    def run(self, obj: object, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> object:
        assert isinstance(obj, Node)
        try:
            obj.run_result = obj.run()
        except Exception as err:
            obj.run_error = err
            raise
        return obj.run_result

    def cleanup(self, obj: object) -> Callable[[], object] | None:
        if isinstance(obj, Node) and type(obj).cleanup is not Node.cleanup:
            return obj.cleanup
        return None
