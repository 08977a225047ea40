"""The incident's rules without a server: tables of transitions, and properties (hypothesis)
over any sequence of what people, monitors and timers do."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workflows import incident_rules as rules
from workflows.incident_rules import (
    Announce,
    Outcome,
    Page,
    Rejected,
    StartChains,
    StopChains,
)
from workflows.incident_types import (
    ActionIn,
    Actor,
    AlertIn,
    IncidentInput,
    IncidentState,
    Level,
    NotificationStep,
    OpenedIncident,
    PagedLevel,
    PagedUser,
    PolicySnapshot,
    SnoozeIn,
    Target,
)
from workflows.limits import MAX_SNOOZE, MIN_SNOOZE

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(autouse=True)
def record_histories() -> None:
    """No server here, so no histories to record (overrides the package's fixture)."""


ALICE = Actor(type="user", id="alice", via="api")
MONITOR = Actor(type="integration", via="events")


def _policy(levels: int = 2, repeat: int = 0, delay: float = 300) -> PolicySnapshot:
    return PolicySnapshot(
        id="pol",
        name="primary",
        repeat=repeat,
        levels=[
            Level(delay_seconds=delay, targets=[Target(type="user", id=f"u{i}")])
            for i in range(levels)
        ],
    )


def _alert(action: str = "trigger", summary: str = "CPU on fire") -> AlertIn:
    return AlertIn.model_validate(
        {"id": f"{action}-{summary}", "action": action, "summary": summary, "dedup_key": "cpu",
         "received_at": T0, "actor": MONITOR.model_dump()}
    )  # fmt: skip


def _paged(*users: str) -> PagedLevel:
    steps = [NotificationStep(channel="log", delay_seconds=0)]
    return PagedLevel(users=[PagedUser(user_id=u, name=u, steps=steps) for u in users])


def _opened(
    levels: int = 2,
    repeat: int = 0,
    ack_timeout: float | None = None,
    auto_resolve: float | None = None,
) -> IncidentState:
    """An incident opened at T0 whose level 1 paged u0."""
    s = rules.new_state(IncidentInput(incident_id="inc", service_id="svc", dedup_key="cpu"))
    s = rules.receive(s, [_alert()])
    s, _, page = rules.opening(s, s.inbox[0], T0, "run")
    result = OpenedIncident(
        number=7,
        service_name="api",
        urgency="high",
        policy=_policy(levels, repeat),
        ack_timeout_seconds=ack_timeout,
        auto_resolve_seconds=auto_resolve,
        paged=_paged("u0"),
    )
    return rules.opened(s, result, page, T0).state


def _types(s: IncidentState) -> list[str]:
    return [e.type for e in s.outbox]


def _page_now(s: IncidentState, now: datetime, *users: str) -> Outcome:
    s, page = rules.begin_page(s, now)
    return rules.level_paged(s, page, _paged(*users), now)


# --- tables -----------------------------------------------------------------------------------


def test_opening_pages_level_one_and_leaves_nothing_to_write() -> None:
    s = _opened()
    assert s.opened and s.number == 7 and s.assigned_to == ["u0"] and s.alert_count == 1
    assert [c.user_id for c in s.chains] == ["u0"] and s.level_deadline == T0 + timedelta(
        seconds=300
    )
    assert rules.take_writes(s) is None  # the first activity wrote the row as it is now
    assert rules.invalid(s) == []


@dataclass
class Case:
    name: str
    state: Callable[[], IncidentState]
    act: Callable[[IncidentState], Outcome]
    status: str
    events: list[str]
    stops_chains: bool = False
    pending_page: bool = False
    level: int = 1


LATER = T0 + timedelta(seconds=10)
CASES = [
    Case("acknowledge", _opened, lambda s: rules.acknowledge(s, ALICE, LATER),
         "acknowledged", ["acknowledged"], stops_chains=True),
    Case("acknowledge twice is a no-op", lambda: rules.acknowledge(_opened(), ALICE, T0).state,
         lambda s: rules.acknowledge(s, ALICE, LATER), "acknowledged", ["acknowledged"]),
    Case("resolve with a note", _opened, lambda s: rules.resolve(s, ALICE, "rolled back", LATER),
         "resolved", ["resolved"], stops_chains=True),
    Case("escalate pages the next level", _opened, lambda s: rules.escalate(s, ALICE, LATER),
         "triggered", ["escalated"], stops_chains=True, pending_page=True, level=2),
    Case("escalate an acknowledged incident", lambda: rules.acknowledge(_opened(), ALICE, T0).state,
         lambda s: rules.escalate(s, ALICE, LATER), "triggered",
         ["acknowledged", "unacknowledged", "escalated"], stops_chains=True, pending_page=True,
         level=2),
    Case("escalate past the last level wraps to level 1", lambda: _opened(levels=1),
         lambda s: rules.escalate(s, ALICE, LATER), "triggered", ["escalated"],
         stops_chains=True, pending_page=True, level=1),
    Case("level 1 times out", _opened,
         lambda s: rules.on_deadlines(s, T0 + timedelta(seconds=300)), "triggered", ["escalated"],
         stops_chains=True, pending_page=True, level=2),
    Case("before the deadline nothing happens", _opened,
         lambda s: rules.on_deadlines(s, T0 + timedelta(seconds=299)), "triggered", []),
    Case("the last level times out: exhausted, stays", lambda: _opened(levels=1),
         lambda s: rules.on_deadlines(s, T0 + timedelta(seconds=300)), "triggered",
         ["escalation_exhausted"], stops_chains=True),
    Case("the last level times out with a repeat: level 1 again", lambda: _opened(repeat=1),
         lambda s: rules.on_deadlines(
             _page_now(rules.on_deadlines(s, T0 + timedelta(seconds=300)).state,
                       T0 + timedelta(seconds=300), "u1").state,
             T0 + timedelta(seconds=600)),
         "triggered", ["escalated", "escalated"], stops_chains=True, pending_page=True),
    Case("snooze acknowledges", _opened, lambda s: rules.snooze(s, ALICE, 60, LATER),
         "acknowledged", ["acknowledged", "snoozed"], stops_chains=True),
    Case("a snooze ends: triggered again", lambda: rules.snooze(_opened(), ALICE, 60, T0).state,
         lambda s: rules.on_deadlines(s, T0 + timedelta(seconds=60)), "triggered",
         ["acknowledged", "snoozed", "unacknowledged"], stops_chains=True, pending_page=True),
    Case("acknowledgement timeout",
         lambda: rules.acknowledge(_opened(ack_timeout=30), ALICE, T0).state,
         lambda s: rules.on_deadlines(s, T0 + timedelta(seconds=30)), "triggered",
         ["acknowledged", "unacknowledged"], stops_chains=True, pending_page=True),
    Case("auto-resolve", lambda: _opened(auto_resolve=100),
         lambda s: rules.on_deadlines(s, T0 + timedelta(seconds=100)), "resolved", ["resolved"],
         stops_chains=True),
    Case("a resolve alert from the source", lambda: rules.receive(_opened(), [_alert("resolve")]),
         lambda s: rules.take_alerts(s, LATER), "resolved", ["resolved"], stops_chains=True),
    Case("more triggers are counted", lambda: rules.receive(_opened(), [_alert(), _alert()]),
         lambda s: rules.take_alerts(s, LATER), "triggered", ["alert"]),
    Case("reassign to users", _opened, lambda s: rules.reassign_users(s, ALICE, ["x", "x"], LATER),
         "triggered", ["reassigned"], stops_chains=True, pending_page=True),
    Case("reassign to a policy starts at its level 1",
         lambda: rules.escalate(_opened(), ALICE, T0).state,
         lambda s: rules.reassign_policy(s, ALICE, _policy(3), LATER), "triggered",
         ["escalated", "reassigned"], stops_chains=True, pending_page=True),
    Case("a note", _opened, lambda s: rules.note(s, ALICE, "looking", LATER), "triggered",
         ["note"]),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_transition(case: Case) -> None:
    before = case.state()
    snapshot = before.model_dump()
    out = case.act(before)
    s = out.state
    assert before.model_dump() == snapshot  # the input state is never changed
    assert s.status == case.status
    assert _types(s) == case.events
    assert any(isinstance(c, StopChains) for c in out.commands) == case.stops_chains
    assert s.pending_page == case.pending_page
    assert s.level_index + 1 == case.level
    assert rules.invalid(s) == []


def test_level_that_reaches_nobody_is_recorded_and_skipped() -> None:
    s = rules.on_deadlines(_opened(levels=3), T0 + timedelta(seconds=300)).state
    out = _page_now(s, T0 + timedelta(seconds=300))  # level 2 resolves to nobody
    assert _types(out.state)[-2:] == ["level_empty", "escalated"]
    assert out.state.pending_page and out.state.level_index == 2


def test_reassigned_users_are_paged_in_the_levels_place() -> None:
    s = rules.reassign_users(_opened(), ALICE, ["x", "y", "x"], LATER).state
    s, page = rules.begin_page(s, LATER)
    assert page.targets == [Target(type="user", id="x"), Target(type="user", id="y")]
    assert s.override_targets is None  # once: the next level is the policy's again


def test_a_page_in_flight_when_acknowledged_starts_no_chain() -> None:
    s = rules.escalate(_opened(), ALICE, LATER).state
    s, page = rules.begin_page(s, LATER)
    s = rules.acknowledge(s, ALICE, LATER).state
    out = rules.level_paged(s, page, _paged("u1"), LATER)
    assert out.commands == [] and out.state.chains == [] and out.state.level_deadline is None


def test_a_level_lasts_its_delay_from_when_it_fired() -> None:
    s = rules.on_deadlines(_opened(), T0 + timedelta(seconds=300)).state
    s, page = rules.begin_page(s, T0 + timedelta(seconds=300))
    s = rules.level_paged(s, page, _paged("u1"), T0 + timedelta(seconds=340)).state
    assert s.level_deadline == T0 + timedelta(seconds=600)


@pytest.mark.parametrize(
    ("first_delays", "carrier"),
    [([0, 0], 0), ([30, 0], 1), ([30, 30], None), ([None, 0], 1)],
)  # a delay of None: the user has no steps at all
def test_the_levels_announcement_rides_with_the_first_send_due_at_once(
    first_delays: list[float | None], carrier: int | None
) -> None:
    s = rules.on_deadlines(_opened(), T0 + timedelta(seconds=300)).state
    s, page = rules.begin_page(s, T0 + timedelta(seconds=300))
    paged = PagedLevel(
        announce=True,
        users=[
            PagedUser(user_id=f"u{i}", name=f"U{i}", steps=[] if d is None else
                      [NotificationStep(channel="log", delay_seconds=d)])
            for i, d in enumerate(first_delays)
        ],
    )  # fmt: skip
    out = rules.level_paged(s, page, paged, T0 + timedelta(seconds=300))
    [start] = [c for c in out.commands if isinstance(c, StartChains)]
    alone = [c.page for c in out.commands if isinstance(c, Announce)]
    announced = [start.announce] if start.announce else alone
    assert [(a.level, a.user_names) for a in announced] == [(2, ["U0", "U1"])]  # exactly once
    if carrier is None:
        assert start.first_send is None and len(alone) == 1
    else:
        assert start.first_send == start.chains[carrier].page_id and alone == []


def test_a_level_without_a_chat_channel_is_not_announced() -> None:
    s = rules.on_deadlines(_opened(), T0 + timedelta(seconds=300)).state
    out = _page_now(s, T0 + timedelta(seconds=300), "u1")
    [start] = out.commands
    assert isinstance(start, StartChains) and start.announce is None
    assert start.first_send == start.chains[0].page_id and not start.sync_chat


def _opening(chat: bool, first_delay: float) -> Outcome:
    s = rules.new_state(IncidentInput(incident_id="inc", service_id="svc", dedup_key="cpu"))
    s = rules.receive(s, [_alert()])
    s, _, page = rules.opening(s, s.inbox[0], T0, "run")
    steps = [NotificationStep(channel="log", delay_seconds=first_delay)]
    result = OpenedIncident(
        number=7, service_name="api", urgency="high", policy=_policy(), chat=chat,
        paged=PagedLevel(users=[PagedUser(user_id="u0", name="U0", steps=steps)]),
    )  # fmt: skip
    return rules.opened(s, result, page, T0)


@pytest.mark.parametrize(
    ("chat", "first_delay", "rides"),
    [(True, 0, True), (True, 30, False), (False, 0, False)],
)
def test_the_incidents_first_chat_post_rides_with_its_first_pages(
    chat: bool, first_delay: float, rides: bool
) -> None:
    """With Slack configured, the first pages due at once carry the first chat sync; when
    every first step waits, the workflow syncs on its own (and without Slack, not at all)."""
    out = _opening(chat, first_delay)
    [start] = [c for c in out.commands if isinstance(c, StartChains)]
    assert start.sync_chat is rides and rules.chat_rides(out) is rides


def test_a_later_level_carries_no_chat_sync() -> None:
    """After the opening, chat syncs follow the projection writes (the chat loop)."""
    s = _opening(True, 0).state
    s = rules.on_deadlines(s, T0 + timedelta(seconds=300)).state
    out = _page_now(s, T0 + timedelta(seconds=300), "u1")
    assert not rules.chat_rides(out)


@pytest.mark.parametrize(
    ("delays", "index", "end"),
    [([0], 0, 1), ([0, 0, 0], 0, 3), ([0, 0, 120], 0, 2), ([0, 0, 120], 2, 3),
     ([0, 120, 120, 300], 1, 3), ([0, 120, 0], 0, 1)],
)  # fmt: skip
def test_steps_due_together_are_sent_as_one(delays: list[int], index: int, end: int) -> None:
    steps = [NotificationStep(channel="log", address="x", delay_seconds=d) for d in delays]
    assert rules.due_together(steps, index) == end


def test_a_chains_due_steps_become_sends_keyed_by_incident_page_and_step() -> None:
    s = rules.on_deadlines(_opened(), T0 + timedelta(seconds=300)).state
    paged = PagedLevel(
        users=[
            PagedUser(user_id="u1", name="U1", steps=[
                NotificationStep(channel="email", contact_method_id="m1", delay_seconds=0),
                NotificationStep(channel="sms", contact_method_id="m2", delay_seconds=0),
                NotificationStep(channel="voice", contact_method_id="m3", delay_seconds=120),
            ])
        ]
    )  # fmt: skip
    s, page = rules.begin_page(s, T0 + timedelta(seconds=300))
    [start] = rules.level_paged(s, page, paged, T0 + timedelta(seconds=300)).commands
    assert isinstance(start, StartChains)
    [chain] = start.chains
    now = T0 + timedelta(seconds=301)
    sends = rules.step_sends(s, chain, 0, rules.due_together(chain.steps, 0), now)
    assert [(x.idempotency_key, x.step.channel, x.level) for x in sends] == [
        (f"{s.incident_id}:{chain.page_id}:0", "email", 2),
        (f"{s.incident_id}:{chain.page_id}:1", "sms", 2),
    ]
    assert {(x.user_id, x.position, x.number, x.title, x.attempt_at) for x in sends} == {
        ("u1", chain.page_id, s.number, s.title, now)
    }
    [voice] = rules.step_sends(s, chain, 2, 3, now)
    assert voice.idempotency_key.endswith(":2") and voice.step.delay_seconds == 120


@pytest.mark.parametrize(
    ("seconds", "ok"),
    [(0, False), (0.5, False), (MIN_SNOOZE.total_seconds(), True), (3600, True),
     (MAX_SNOOZE.total_seconds(), True), (MAX_SNOOZE.total_seconds() + 1, False)],
)  # fmt: skip
def test_snooze_bounds(seconds: float, ok: bool) -> None:
    inp = SnoozeIn(actor=ALICE, seconds=seconds)
    if ok:
        rules.check_snooze(_opened(), inp)
    else:
        with pytest.raises(Rejected, match="between 1 second and 7 days"):
            rules.check_snooze(_opened(), inp)


def test_an_action_meant_for_an_earlier_incident_is_rejected() -> None:
    with pytest.raises(Rejected):
        rules.check_acknowledge(_opened(), ActionIn(actor=ALICE, incident_id="another"))


def test_writes_carry_events_alerts_and_fields_once() -> None:
    s = rules.take_alerts(rules.receive(_opened(), [_alert(summary="b")]), LATER).state
    taken = rules.take_writes(s)
    assert taken is not None
    s2, fields, events, alerts = taken
    assert [e.type for e in events] == ["alert"] and [a.summary for a in alerts] == ["b"]
    assert fields["alert_count"] == 2 and s2.version == s.version + 1
    assert rules.take_writes(s2) is None


def _stored(n: int, summary: str = "CPU on fire", action: str = "trigger") -> list[AlertIn]:
    return [
        _alert(action, summary).model_copy(update={"id": f"{summary}-{i}", "stored": True})
        for i in range(n)
    ]


def test_a_storm_of_one_alert_is_carried_as_one_alert_and_its_repeats_ids() -> None:
    batch = [*_stored(3), *_stored(2, "disk"), _alert("acknowledge"), *_stored(2)]
    grouped = rules.group_repeats(batch)
    assert [(a.id, a.repeats) for a in grouped] == [
        ("CPU on fire-0", ["CPU on fire-1", "CPU on fire-2"]),
        ("disk-0", ["disk-1"]),
        ("acknowledge-CPU on fire", []),  # never folded, and nothing folds across it
        ("CPU on fire-0", ["CPU on fire-1"]),
    ]
    assert rules.events_in(grouped) == len(batch) and batch[0].repeats == []  # input unchanged
    whole = _alert(summary="w")  # not stored: its payload rides whole, so it is never folded
    assert rules.group_repeats([whole, whole]) == [whole, whole]


def test_repeats_count_as_alerts_and_are_attached_by_id() -> None:
    s = rules.receive(_opened(), rules.group_repeats(_stored(30)))
    s = rules.take_alerts(s, LATER).state
    assert s.alert_count == 31 and s.outbox[-1].detail["count"] == 30
    assert s.outbox[-1].detail["alert_ids"] == [f"CPU on fire-{i}" for i in range(10)]
    _, refs = rules.split_stored(s.unwritten_alerts)
    assert [[r.id, *r.repeats] for r in refs] == [[f"CPU on fire-{i}" for i in range(30)]]


def test_opening_takes_the_first_event_and_leaves_its_repeats_to_count() -> None:
    s = rules.new_state(IncidentInput(incident_id="inc", service_id="svc", dedup_key="cpu"))
    s = rules.receive(s, rules.group_repeats(_stored(3)))
    first = s.inbox[0]
    s, event, _ = rules.opening(s, first, T0, "run")
    assert s.alert_count == 1 and event.type == "triggered"
    assert [(a.id, a.repeats) for a in s.inbox] == [("CPU on fire-1", ["CPU on fire-2"])]
    assert rules.head(first)[0].repeats == [] and rules.head(first)[0].id == "CPU on fire-0"


def test_chunks_count_repeats_and_never_split_an_alert_from_them() -> None:
    grouped = rules.group_repeats([*_stored(4), *_stored(4, "disk"), *_stored(1, "x")])
    assert [rules.events_in(c) for c in rules.chunks(grouped, 5, 10**6)] == [4, 5]
    assert [rules.events_in(c) for c in rules.chunks(grouped, 3, 10**6)] == [4, 4, 1]


@given(st.lists(st.tuples(st.sampled_from(["a", "b"]), st.booleans()), max_size=30))
def test_grouping_keeps_every_event_in_order(kinds: list[tuple[str, bool]]) -> None:
    batch = [
        _alert(summary=k).model_copy(update={"id": str(i), "stored": stored})
        for i, (k, stored) in enumerate(kinds)
    ]
    grouped = rules.group_repeats(batch)
    assert [i for a in grouped for i in (a.id, *a.repeats)] == [a.id for a in batch]
    assert all(not a.repeats or a.stored for a in grouped)


@pytest.mark.parametrize(
    ("suggested", "length", "alert_ago", "now"),
    [
        (False, 9_000, None, False),  # neither suggested nor past the run's own limit
        (True, 4_000, None, True),  # suggested, and no alert ever came
        (True, 4_000, 0.0, False),  # suggested, but alerts keep coming: a storm
        (True, 4_000, 0.5, False),
        (True, 4_000, 1.0, True),  # quiet for QUIET_BEFORE_CONTINUE
        (False, 10_001, 0.0, True),  # past the limit: even in a storm
    ],
)
def test_continue_as_new_waits_for_a_storm_to_pass(
    suggested: bool, length: int, alert_ago: float | None, now: bool
) -> None:
    last = None if alert_ago is None else LATER - timedelta(seconds=alert_ago)
    assert rules.QUIET_BEFORE_CONTINUE == timedelta(seconds=1)
    got = rules.continue_now(
        suggested=suggested, length=length, max_events=10_000, last_alert_at=last, now=LATER
    )
    assert got is now


# --- properties -------------------------------------------------------------------------------


ACTIONS = st.one_of(
    st.tuples(st.just("ack")),
    st.tuples(st.just("resolve")),
    st.tuples(st.just("escalate")),
    st.tuples(st.just("note")),
    st.tuples(st.just("snooze"), st.floats(min_value=1, max_value=3600)),
    st.tuples(st.just("reassign_users")),
    st.tuples(st.just("reassign_policy"), st.integers(min_value=1, max_value=3)),
    st.tuples(st.just("alert"), st.sampled_from(["trigger", "acknowledge", "resolve"])),
    st.tuples(st.just("wait"), st.floats(min_value=0, max_value=4000)),
    st.tuples(st.just("page_starts")),
    st.tuples(st.just("page_done"), st.integers(min_value=0, max_value=2)),
    st.tuples(st.just("written")),
)


@dataclass
class World:
    """The rules driven as the workflow drives them, with pages in flight."""

    s: IncidentState
    now: datetime
    in_flight: list[Page]

    def step(self, action: tuple[object, ...]) -> Outcome:
        s, now, kind = self.s, self.now, action[0]
        if kind == "ack":
            return rules.acknowledge(s, ALICE, now)
        if kind == "resolve":
            return rules.resolve(s, ALICE, None, now)
        if kind == "escalate":
            return rules.escalate(s, ALICE, now)
        if kind == "note":
            return rules.note(s, ALICE, "hi", now)
        if kind == "snooze":
            return rules.snooze(s, ALICE, float(action[1]), now)  # type: ignore[arg-type]
        if kind == "reassign_users":
            return rules.reassign_users(s, ALICE, ["x"], now)
        if kind == "reassign_policy":
            return rules.reassign_policy(s, ALICE, _policy(int(action[1])), now)  # type: ignore[call-overload]
        if kind == "alert":
            return rules.take_alerts(rules.receive(s, [_alert(str(action[1]))]), now)
        if kind == "wait":
            self.now = now + timedelta(seconds=float(action[1]))  # type: ignore[arg-type]
            deadline = rules.next_deadline(s)
            return rules.on_deadlines(s, self.now if deadline is None else min(deadline, self.now))
        if kind == "page_starts" and s.pending_page and s.status == "triggered":
            s, page = rules.begin_page(s, now)
            self.in_flight.append(page)
            return Outcome(s)
        if kind == "page_done" and self.in_flight:
            page = self.in_flight.pop(0)
            users = [f"p{i}" for i in range(int(action[1]))]  # type: ignore[call-overload]
            return rules.level_paged(s, page, _paged(*users), now)
        if kind == "written":
            taken = rules.take_writes(s)
            return Outcome(rules.written(taken[0] if taken else s, s.changes))
        return Outcome(s)


@settings(max_examples=300, deadline=None)
@given(st.lists(ACTIONS, max_size=40), st.integers(min_value=1, max_value=3), st.integers(0, 2))
def test_no_sequence_of_actions_reaches_an_invalid_state(
    actions: list[tuple[object, ...]], levels: int, repeat: int
) -> None:
    world = World(_opened(levels=levels, repeat=repeat, ack_timeout=900), T0, [])
    for action in actions:
        before = world.s
        was = before.status
        try:
            out = world.step(action)
        except Rejected:
            assert before.status == "resolved"  # only a resolved incident refuses actions here
            continue
        s = out.state
        assert rules.invalid(s) == [], (action, rules.invalid(s))
        assert s.seq >= before.seq and s.changes >= before.changes
        if action[0] == "ack" and was == "triggered":
            # Acknowledge always stops paging: no chain, no pending page, no deadline.
            assert s.status == "acknowledged" and not s.chains and not s.pending_page
            assert s.level_deadline is None and StopChains() in out.commands
        if s.status == "acknowledged":
            assert not any(isinstance(c, StartChains) for c in out.commands)
        if was == "resolved":
            # Resolve is final.
            assert s.status == "resolved" and not s.pending_page and not s.chains
            assert not any(isinstance(c, StartChains) for c in out.commands)
            assert s.alert_count == before.alert_count
        world.s = s


@settings(max_examples=100, deadline=None)
@given(st.lists(ACTIONS, max_size=30))
def test_a_resolved_incident_refuses_every_action(actions: list[tuple[object, ...]]) -> None:
    world = World(rules.resolve(_opened(), ALICE, None, T0).state, T0, [])
    for action in actions:
        try:
            out = world.step(action)
        except Rejected:
            continue
        assert out.state.status == "resolved" and not out.state.chains
        world.s = out.state
    for check in (rules.check_acknowledge, rules.check_escalate, rules.check_resolve):
        with pytest.raises(Rejected):
            check(world.s, ActionIn(actor=ALICE))
