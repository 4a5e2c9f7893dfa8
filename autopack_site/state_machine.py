"""The one way any status in Autopack changes.

Every machine (runs, phases, attempts, approvals, actions, and what comes later) is a
`StateMachine`: a table of allowed moves, the terminal states derived from it, and an
append-only event model. A status is written only by these methods, each of which checks the
table and writes the event row in the same transaction:

- ``create``: a new row in one of the machine's initial states (event from "").
- ``lock``: the row under SELECT ... FOR UPDATE, marked as locked for this transaction.
- ``move``: one row to a new status; locks it first unless ``lock`` already did.
- ``move_if``: compare-and-set (``UPDATE ... WHERE status = from``) for claims that must not wait.
- ``move_all``: several rows at once, locked together in id order.

tests/test_state_machines.py scans the code for status writes anywhere else.
"""

from collections.abc import Callable, Iterable, Mapping
from typing import Any, Generic, TypeVar

from django.db import connection, models, transaction
from django.db.models import Q
from django.utils import timezone

from autopack_site.changes import announce
from autopack_site.errors import Conflict


class IllegalTransition(Conflict):
    code = "illegal_transition"


EventOwner = Callable[[models.Model], dict[str, Any]]

# Every machine, as defined at import: the test that scans for stray status writes and the one
# that walks each table read it.
MACHINES: list["StateMachine[Any]"] = []


M = TypeVar("M", bound=models.Model)


class StateMachine(Generic[M]):
    def __init__(
        self,
        *,
        model: type[M],
        transitions: Mapping[str, Iterable[str]],
        initial: Iterable[str],
        event_model: type[models.Model],
        event_owner: EventOwner,
        reset_on_leave: Mapping[str, Mapping[str, Any]] | None = None,
        topic: Callable[[M], str] | None = None,
        label: str = "",
    ):
        self.model = model
        self.transitions = {str(k): frozenset(map(str, v)) for k, v in transitions.items()}
        self.initial = frozenset(map(str, initial))
        self.terminal = frozenset(s for s, moves in self.transitions.items() if not moves)
        self.event_model = event_model
        self.event_owner = event_owner
        # Fields that stop meaning anything once a row leaves a state (a lease, say).
        self.reset_on_leave = {str(k): dict(v) for k, v in (reset_on_leave or {}).items()}
        # What long-polls wait on (autopack_site/changes.py); announced with every move.
        self.topic = topic
        self.label = label or model._meta.verbose_name
        field_names = {f.name for f in model._meta.concrete_fields}
        self._stamps_finish = "finished_at" in field_names
        self._touches = [
            f.name
            for f in model._meta.concrete_fields
            if getattr(f, "auto_now", False) and f.name != "status"
        ]
        unknown = (set(self.transitions) | self.initial).difference(
            str(value) for value, _ in model._meta.get_field("status").choices
        )
        if unknown:
            raise ValueError(f"{model.__name__}: states not among its choices: {sorted(unknown)}")
        MACHINES.append(self)

    # --- the table ------------------------------------------------------------------------------
    def allows(self, from_status: str, to_status: str) -> bool:
        return to_status in self.transitions.get(from_status, frozenset())

    def check(self, obj: M, to_status: str) -> None:
        if not self.allows(obj.status, to_status):
            raise IllegalTransition(
                f"{self.label.capitalize()} #{obj.pk} is {obj.status}; it cannot become "
                f"{to_status}.",
                details={"from": obj.status, "to": to_status},
            )

    def _check_initial(self, status: str) -> None:
        if status not in self.initial:
            raise IllegalTransition(
                f"A {self.label} cannot start as {status}.",
                details={"from": "", "to": status},
            )

    # --- writes ---------------------------------------------------------------------------------
    def create(
        self,
        obj: M,
        *,
        status: str,
        actor: str,
        reason: str = "",
        detail: dict[str, Any] | None = None,
    ) -> M:
        """INSERTs ``obj`` in ``status`` (an initial state) with its first event."""
        self._check_initial(status)
        with transaction.atomic(savepoint=False):
            obj.status = status
            if status in self.terminal and self._stamps_finish and obj.finished_at is None:
                obj.finished_at = timezone.now()
            obj.save(force_insert=True)
            _mark_locked(obj)
            self._event(obj, "", status, actor=actor, reason=reason, detail=detail)
        return obj

    def create_all(
        self,
        objs: list[M],
        *,
        status: str,
        actor: str,
        reason: str = "",
        detail: dict[str, Any] | None = None,
    ) -> list[M]:
        """``create`` for several rows: one bulk INSERT of the rows, one of their events."""
        self._check_initial(status)
        with transaction.atomic(savepoint=False):
            for obj in objs:
                obj.status = status
            created = self.model.objects.bulk_create(objs)
            self.event_model.objects.bulk_create(
                [
                    self._event_row(obj, "", status, actor=actor, reason=reason, detail=detail)
                    for obj in created
                ]
            )
        return created

    def lock(self, pk: Any, *, queryset: models.QuerySet[M] | None = None) -> M:
        """The row under FOR UPDATE (DoesNotExist if it is gone). ``move`` then locks nothing."""
        rows = self.model.objects.all() if queryset is None else queryset
        obj = rows.select_for_update().get(pk=pk)
        _mark_locked(obj)
        return obj

    def lock_all(self, queryset: models.QuerySet[M]) -> list[M]:
        """The rows of ``queryset`` under FOR UPDATE, taken in id order (a fixed order, so two
        transactions locking overlapping sets cannot deadlock)."""
        rows = list(queryset.select_for_update().order_by("pk"))
        for row in rows:
            _mark_locked(row)
        return rows

    def move(
        self,
        obj: M,
        to_status: str,
        *,
        actor: str,
        reason: str = "",
        detail: dict[str, Any] | None = None,
        **fields: Any,
    ) -> M:
        """Moves ``obj`` along the table, saving only the status, ``fields`` and timestamps,
        and appends the event. A row not locked by ``lock`` in this transaction is locked here
        and must still be in the status ``obj`` says (else IllegalTransition)."""
        # Checked before any write, so a refusal leaves the caller's transaction usable.
        self.check(obj, to_status)
        with transaction.atomic(savepoint=False):
            if not _is_locked(obj):
                current = (
                    self.model.objects.select_for_update()
                    .filter(pk=obj.pk)
                    .values_list("status", flat=True)
                    .first()
                )
                if current != obj.status:
                    raise IllegalTransition(
                        f"{self.label.capitalize()} #{obj.pk} changed meanwhile: it is "
                        f"{current}, not {obj.status}.",
                        details={"from": current, "to": to_status},
                    )
                _mark_locked(obj)
            from_status = obj.status
            fields = {**self.reset_on_leave.get(from_status, {}), **fields}
            for name, value in fields.items():
                setattr(obj, name, value)
            obj.status = to_status
            changed = {"status", *fields, *self._touches}
            if to_status in self.terminal and self._stamps_finish:
                obj.finished_at = timezone.now()
                changed.add("finished_at")
            obj.save(update_fields=sorted(changed))
            self._event(obj, from_status, to_status, actor=actor, reason=reason, detail=detail)
        return obj

    def move_if(
        self,
        obj: M,
        from_status: str,
        to_status: str,
        *,
        actor: str,
        reason: str = "",
        detail: dict[str, Any] | None = None,
        where: Q | None = None,
        **fields: Any,
    ) -> bool:
        """Compare-and-set: moves the row only if it is still ``from_status`` (and matches
        ``where``), without waiting for locks. False when someone else moved it first.
        ``fields`` may hold expressions (F() + 1); they are not set on ``obj``."""
        if not self.allows(from_status, to_status):
            raise IllegalTransition(
                f"A {from_status} {self.label} cannot become {to_status}.",
                details={"from": from_status, "to": to_status},
            )
        now = timezone.now()
        values = {**self.reset_on_leave.get(from_status, {}), **fields, "status": to_status}
        values.update({name: now for name in self._touches})
        if to_status in self.terminal and self._stamps_finish:
            values["finished_at"] = now
        with transaction.atomic(savepoint=False):
            won = (
                self.model.objects.filter(pk=obj.pk, status=from_status)
                .filter(where or Q())
                .update(**values)
            )
            if won != 1:
                return False
            obj.status = to_status
            self._event(obj, from_status, to_status, actor=actor, reason=reason, detail=detail)
        return True

    def move_all(
        self,
        queryset: models.QuerySet[M],
        to_status: str,
        *,
        actor: str,
        reason: str = "",
        detail: dict[str, Any] | None = None,
        **fields: Any,
    ) -> list[M]:
        """Locks the rows of ``queryset`` in id order, moves each (every move must be allowed)
        with one UPDATE, and appends one event per row. Returns the moved rows."""
        with transaction.atomic(savepoint=False):
            rows = self.lock_all(queryset)
            if not rows:
                return rows
            for row in rows:
                self.check(row, to_status)
            now = timezone.now()
            values = {"status": to_status}
            for row in rows:
                values.update(self.reset_on_leave.get(row.status, {}))
            values.update(fields)
            values.update({name: now for name in self._touches})
            if to_status in self.terminal and self._stamps_finish:
                values["finished_at"] = now
            self.model.objects.filter(pk__in=[row.pk for row in rows]).update(**values)
            events = []
            for row in rows:
                events.append(
                    self._event_row(
                        row, row.status, to_status, actor=actor, reason=reason, detail=detail
                    )
                )
                for name, value in values.items():
                    setattr(row, name, value)
            self.event_model.objects.bulk_create(events)
            if self.topic is not None:
                for row in rows:
                    announce(self.topic(row))
        return rows

    # --- events ---------------------------------------------------------------------------------
    def _event_row(self, obj, from_status, to_status, *, actor, reason, detail):
        return self.event_model(
            **self.event_owner(obj),
            from_status=from_status,
            to_status=to_status,
            actor=actor[:200],
            reason=(reason or "")[:500],
            detail=detail or {},
        )

    def _event(self, obj, from_status, to_status, **kwargs) -> None:
        self._event_row(obj, from_status, to_status, **kwargs).save(force_insert=True)
        if self.topic is not None and from_status:
            announce(self.topic(obj))


def locked_with(*objs: models.Model) -> None:
    """Declares rows locked by the caller's own SELECT ... FOR UPDATE (a select_related row
    locked with its parent), so ``move`` does not lock them again."""
    for obj in objs:
        _mark_locked(obj)


def _outermost_block():
    blocks = connection.atomic_blocks
    return blocks[0] if blocks else None


def _mark_locked(obj: models.Model) -> None:
    obj._locked_in = _outermost_block()


def _is_locked(obj: models.Model) -> bool:
    block = _outermost_block()
    return block is not None and getattr(obj, "_locked_in", None) is block
