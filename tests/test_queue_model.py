"""The pure queue model: transitions, the wait estimate, what the queue topic and the screens
may carry, and the simulated day's error."""

from __future__ import annotations

import json

from pipeline.bench.queue_simulation import run as simulate
from pipeline.display.views import entrance_view, window_view
from pipeline.queue.model import (
    Car,
    QueueSettings,
    QueueState,
    arrive,
    correct,
    estimate_wait_s,
    expire,
    serve,
)
from pipeline.queue.payload import car_from_event, queue_payload, state_from_payload

SETTINGS = QueueSettings(windows=2, default_service_min=5.0, timeout_min=30.0)
T0 = 1_764_000_000.0


def car(i: int, at: float, status: str = "matched", name: str | None = None) -> Car:
    return Car(f"e{i}", f"r{i}", at, status, customer_number=f"1000{i}" if name else None,
               display_name=name, visit_reason="Tarifberatung" if name else None,
               plate="OF-AB 12" if name else None)


def fill(n: int, start: float = T0) -> QueueState:
    state = QueueState()
    for i in range(n):
        state, _ = arrive(state, car(i, start + i), start + i, SETTINGS)
    return state


def test_first_cars_go_to_the_free_windows_the_rest_wait() -> None:
    state = fill(3)
    assert [c.service_start is not None for c in state.cars] == [True, True, False]
    assert state.cars[0].service_start == T0


def test_redelivered_arrival_counts_once() -> None:
    state, facts = arrive(QueueState(), car(1, T0), T0, SETTINGS)
    again, more = arrive(state, car(1, T0), T0 + 5, SETTINGS)
    assert again == state and more == ()
    assert [f.kind for f in facts] == ["arrival"]


def test_served_car_leaves_the_next_moves_up_and_the_service_time_is_learnt() -> None:
    state = fill(3)
    state, facts, served = serve(state, "r0", T0 + 300, SETTINGS)
    assert served is not None and served.event_id == "e0"
    assert [c.event_id for c in state.cars] == ["e1", "e2"]
    assert state.cars[1].service_start == T0 + 300  # e2 reached the free window
    assert state.service_times == (300.0,)
    assert facts[0].kind == "served" and facts[0].service_s == 300 and facts[0].wait_s == 0
    _, _, nobody = serve(state, "unknown", T0 + 301, SETTINGS)
    assert nobody is None


def test_served_by_customer_number() -> None:
    state, _ = arrive(QueueState(), car(7, T0, name="Anna Schmidt"), T0, SETTINGS)
    state, _, served = serve(state, "10007", T0 + 60, SETTINGS)
    assert served is not None and state.cars == ()


def test_correction_keeps_the_place_and_dismissal_removes_the_car() -> None:
    state = fill(3)
    fixed = Car("e9", "r1", T0 + 100, "matched", "10001", "Jens Becker", "Zählerstand")
    state, facts = correct(state, "e1", fixed, T0 + 100, SETTINGS)
    assert [c.event_id for c in state.cars] == ["e0", "e9", "e2"]
    assert state.cars[1].arrived_at == T0 + 1 and state.cars[1].display_name == "Jens Becker"
    assert facts[0].kind == "correction"
    state, _ = correct(state, "e0", None, T0 + 120, SETTINGS)
    assert [c.event_id for c in state.cars] == ["e9", "e2"]
    assert state.cars[1].service_start == T0 + 120


def test_cars_that_stay_too_long_time_out() -> None:
    state = fill(2)
    state, facts = expire(state, T0 + 31 * 60, SETTINGS)
    assert state.cars == () and [f.kind for f in facts] == ["left", "left"]


def test_wait_estimate_uses_running_services_and_the_cars_ahead() -> None:
    assert estimate_wait_s(QueueState(), T0, SETTINGS) == 0
    state = fill(2)  # both windows busy since T0, no history: 5 min default
    assert estimate_wait_s(state, T0 + 60, SETTINGS) == 4 * 60  # the first window frees
    state = fill(4)  # two more wait: each takes a window for a mean service
    assert abs(estimate_wait_s(state, T0 + 60, SETTINGS) - (4 * 60 + 5 * 60)) < 2


def test_queue_payload_names_only_what_the_detail_allows() -> None:
    state = QueueState()
    for i, c in enumerate([car(1, T0, name="Anna Schmidt"), car(2, T0, "unregistered")]):
        state, _ = arrive(state, c, T0 + i, SETTINGS)
    for detail, name, reason, plate in (("anonymous", False, False, False),
                                        ("reason", False, True, False),
                                        ("name", True, True, False),
                                        ("full", True, True, False)):
        settings = QueueSettings(windows=2, detail=detail)
        text = json.dumps(queue_payload(state, T0 + 10, settings, "drive-in"))
        assert ("Anna Schmidt" in text) is name and ("Tarifberatung" in text) is reason
        assert ("OF-AB 12" in text) is plate  # full prefers the display name to the plate


def test_full_detail_shows_a_plate_only_for_a_car_without_display_name() -> None:
    nameless = Car("e1", "r1", T0, "matched", "10001", None, None, "OF-AB 12")
    state, _ = arrive(QueueState(), nameless, T0, SETTINGS)
    full = queue_payload(state, T0, QueueSettings(detail="full"), "x")
    assert full["cars"][0]["plate"] == "OF-AB 12"
    assert "plate" not in queue_payload(state, T0, QueueSettings(detail="name"), "x")["cars"][0]


def test_arrival_payload_to_car_and_queue_payload_round_trip() -> None:
    event = {"type": "arrival", "event_id": "e1", "read_id": "r1", "status": "matched",
             "timestamp": "2026-11-25T07:42:13.204Z",
             "account": {"customer_number": "10002", "display_name": "Jonas Zimmermann",
                         "visit_reason": "Tarifberatung"}}
    parsed = car_from_event(event, now=2e9)
    assert parsed is not None and parsed.display_name == "Jonas Zimmermann"
    state, _ = arrive(QueueState(), parsed, parsed.arrived_at, SETTINGS)
    restored = state_from_payload(queue_payload(state, parsed.arrived_at, SETTINGS, "x"), 2e9)
    assert restored.cars[0].event_id == "e1"
    assert restored.cars[0].service_start == parsed.arrived_at
    assert restored.cars[0].customer_number == "10002"


def test_entrance_view_carries_nothing_personal() -> None:
    state, _ = arrive(QueueState(), car(1, T0, name="Anna Schmidt"), T0, SETTINGS)
    queue = queue_payload(state, T0, QueueSettings(detail="full"), "x")
    entrance = json.dumps(entrance_view(queue, True))
    for secret in ("Anna Schmidt", "10001", "Tarifberatung", "r1", "e1"):
        assert secret not in entrance
    assert json.loads(entrance)["cars_in_loop"] == 1
    window = window_view(queue, True, show_next=8, detail="reason")
    assert window["cars"][0]["visit_reason"] == "Tarifberatung"
    assert "display_name" not in window["cars"][0]


def test_simulated_day_error_is_small_and_beats_the_baselines() -> None:
    result = simulate(days=3, seed=5)
    assert result["mae_estimate_min"] < 1.0
    assert result["mae_estimate_min"] <= result["mae_queue_length_baseline_min"]
    assert result["mae_estimate_min"] < result["mae_erlang_c_baseline_min"]
