"""The incident's maintenance rules without a server: a window stops paging, its end pages an
incident that still fires from level 1, and nothing automatic pages while it lasts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.workflows.test_incident_rules import (
    ALICE,
    T0,
    World,
    _alert,
    _opened,
    _paged,
    _policy,
)
from workflows import incident_rules as rules
from workflows.incident_rules import Outcome, StartChains, StopChains
from workflows.incident_types import IncidentInput, IncidentState, OpenedIncident

LATER = T0 + timedelta(seconds=10)
HOUR = T0 + timedelta(hours=1)


def _start(s: IncidentState, at: object = LATER) -> IncidentState:
    return rules.maintenance(s, "w1", True, at).state  # type: ignore[arg-type]


def _opening(window: str | None, paged: tuple[str, ...] = ("u0",), early: bool | None = None):  # type: ignore[no-untyped-def]
    """Open an incident at T0: the activity found `window` (nobody paged) or paged `paged`."""
    s = rules.new_state(IncidentInput(incident_id="inc", service_id="svc", dedup_key="cpu"))
    s = rules.receive(s, [_alert()])
    s, _, page = rules.opening(s, s.inbox[0], T0, "run")
    if early is not None:  # a window's signal came while the opening activity ran
        s = rules.maintenance(s, "w-early", early, T0)
        s = s.state
    result = OpenedIncident(
        number=7,
        service_name="api",
        urgency="high",
        policy=_policy(2),
        paged=_paged() if window else _paged(*paged),
        maintenance_window_id=window,
    )
    return rules.opened(s, result, page, T0)


def _details(s: IncidentState) -> list[str]:
    return [e.detail.get("maintenance", "") for e in s.outbox if e.type == "maintenance"]


def test_an_incident_opened_in_maintenance_pages_nobody_and_waits_for_no_timer() -> None:
    out = _opening("w1")
    s = out.state
    assert s.opened and s.in_maintenance and s.maintenance_window_id == "w1"
    assert out.commands == [] and s.chains == [] and not s.pending_page
    assert s.level_deadline is None and rules.next_deadline(s) is None
    assert rules.take_writes(s) is None  # the activity wrote the row and its maintenance event
    assert rules.invalid(s) == []
    assert "in maintenance" in rules.details_markdown(s)


@dataclass
class Case:
    name: str
    state: Callable[[], IncidentState]
    act: Callable[[IncidentState], Outcome]
    status: str
    details: list[str]
    stops_chains: bool = False
    pending_page: bool = False
    level: int = 1
    in_maintenance: bool = True
    extra: list[str] = field(default_factory=list)


CASES = [
    Case("a window starts on an escalating incident",
         lambda: rules.escalate(_opened(), ALICE, T0).state,
         lambda s: rules.maintenance(s, "w1", True, LATER), "triggered", [rules.PAGING_STOPPED],
         stops_chains=True, level=2),
    Case("a window starts on an acknowledged incident",
         lambda: rules.acknowledge(_opened(), ALICE, T0).state,
         lambda s: rules.maintenance(s, "w1", True, LATER), "acknowledged",
         [rules.MAINTENANCE_STARTED], stops_chains=True),
    Case("a second window while in one changes nothing", lambda: _start(_opened()),
         lambda s: rules.maintenance(s, "w2", True, HOUR), "triggered", [rules.PAGING_STOPPED]),
    Case("the end pages a firing incident from level 1",
         lambda: _start(rules.on_deadlines(_opened(), T0 + timedelta(seconds=300)).state),
         lambda s: rules.maintenance(s, "w1", False, HOUR), "triggered",
         [rules.PAGING_STOPPED, rules.FROM_LEVEL_ONE], stops_chains=True, pending_page=True,
         in_maintenance=False),
    Case("the end of an acknowledged incident's window pages nobody",
         lambda: rules.acknowledge(_start(_opened()), ALICE, LATER).state,
         lambda s: rules.maintenance(s, "w1", False, HOUR), "acknowledged",
         [rules.PAGING_STOPPED, rules.MAINTENANCE_ENDED], in_maintenance=False),
    Case("a resolved incident ignores the end",
         lambda: rules.resolve(_start(_opened()), ALICE, None, LATER).state,
         lambda s: rules.maintenance(s, "w1", False, HOUR), "resolved", [rules.PAGING_STOPPED]),
    Case("an end without a start changes nothing", _opened,
         lambda s: rules.maintenance(s, "w1", False, HOUR), "triggered", [], in_maintenance=False),
    Case("no level timer fires in maintenance", lambda: _start(_opened()),
         lambda s: rules.on_deadlines(s, HOUR), "triggered", [rules.PAGING_STOPPED]),
    Case("alerts in maintenance are recorded, not paged", lambda: _start(_opened()),
         lambda s: rules.take_alerts(rules.receive(s, [_alert(), _alert()]), HOUR), "triggered",
         [rules.PAGING_STOPPED], extra=[rules.NOT_PAGED]),
    Case("a snooze that ends in maintenance does not page",
         lambda: _start(rules.snooze(_opened(), ALICE, 60, T0).state),
         lambda s: rules.on_deadlines(s, HOUR), "triggered",
         [rules.MAINTENANCE_STARTED, "triggered again during maintenance, not paged"],
         stops_chains=True),
    Case("a person's escalate still pages", lambda: _start(_opened()),
         lambda s: rules.escalate(s, ALICE, HOUR), "triggered", [rules.PAGING_STOPPED],
         stops_chains=True, pending_page=True, level=2),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_maintenance_transition(case: Case) -> None:
    before = case.state()
    snapshot = before.model_dump()
    out = case.act(before)
    s = out.state
    assert before.model_dump() == snapshot  # the input state is never changed
    assert s.status == case.status
    assert _details(s) == case.details
    assert [e.detail.get("maintenance") for e in s.outbox if e.type == "alert"][-1:] == case.extra
    assert any(isinstance(c, StopChains) for c in out.commands) == case.stops_chains
    assert not any(isinstance(c, StartChains) for c in out.commands)
    assert s.pending_page == case.pending_page
    assert s.level_index + 1 == case.level
    assert s.in_maintenance == case.in_maintenance
    if s.in_maintenance:
        assert s.level_deadline is None and not s.chains
    assert rules.invalid(s) == []


def test_a_page_begun_before_the_window_notifies_nobody_when_it_returns() -> None:
    s = rules.on_deadlines(_opened(), T0 + timedelta(seconds=300)).state
    s, page = rules.begin_page(s, T0 + timedelta(seconds=300))  # level 2 resolving its targets
    s = _start(s, T0 + timedelta(seconds=301))
    out = rules.level_paged(s, page, _paged("u1"), T0 + timedelta(seconds=302))
    assert out.commands == [] and out.state.chains == []


def test_a_persons_page_in_maintenance_starts_chains_but_no_level_timer() -> None:
    s = rules.escalate(_start(_opened()), ALICE, HOUR).state
    s, page = rules.begin_page(s, HOUR)
    out = rules.level_paged(s, page, _paged("u1"), HOUR)
    assert any(isinstance(c, StartChains) for c in out.commands)
    assert out.state.level_deadline is None


def test_the_end_pages_level_one_again_with_its_own_timer() -> None:
    s = rules.maintenance(_opening("w1").state, "w1", False, HOUR).state
    s, page = rules.begin_page(s, HOUR)
    assert page.level == 1 and page.targets[0].id == "u0"
    out = rules.level_paged(s, page, _paged("u0"), HOUR)
    assert [c.user_id for c in out.state.chains] == ["u0"]
    assert out.state.level_deadline == HOUR + timedelta(seconds=300)


def test_a_window_that_starts_while_the_incident_opens_stops_level_one() -> None:
    out = _opening(None, early=True)
    kinds = [type(c) for c in out.commands]
    assert kinds.index(StartChains) < kinds.index(StopChains)  # started, then stopped at once
    assert out.state.in_maintenance and out.state.chains == [] and out.state.level_deadline is None
    assert _details(out.state) == [rules.PAGING_STOPPED]


def test_a_window_that_ends_while_the_incident_opens_pages_level_one() -> None:
    out = _opening("w1", early=False)
    assert not out.state.in_maintenance and out.state.pending_page
    assert _details(out.state) == [rules.FROM_LEVEL_ONE]


AUTOMATIC = st.one_of(
    st.tuples(st.just("ack")),
    st.tuples(st.just("snooze"), st.floats(min_value=1, max_value=3600)),
    st.tuples(st.just("alert"), st.sampled_from(["trigger", "acknowledge"])),
    st.tuples(st.just("wait"), st.floats(min_value=0, max_value=4000)),
    st.tuples(st.just("page_done"), st.integers(min_value=0, max_value=2)),
    st.tuples(st.just("written")),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(AUTOMATIC, max_size=30), st.integers(min_value=2, max_value=3))
def test_nothing_but_a_person_pages_during_maintenance(
    actions: list[tuple[object, ...]], levels: int
) -> None:
    s = rules.on_deadlines(_opened(levels=levels, ack_timeout=900), T0 + timedelta(seconds=300))
    s0, page = rules.begin_page(s.state, T0 + timedelta(seconds=300))
    world = World(_start(s0, T0 + timedelta(seconds=301)), T0 + timedelta(seconds=301), [page])
    for action in actions:
        out = world.step(action)
        assert not any(isinstance(c, StartChains) for c in out.commands), action
        s = out.state
        assert not s.pending_page and not s.chains and s.level_deadline is None, action
        assert rules.invalid(s) == []
        world.s = s
    ended = rules.maintenance(world.s, "w1", False, world.now).state
    if ended.status == "triggered":  # still firing: level 1 pages again
        assert ended.pending_page and ended.level_index == 0
