"""How a route's raised errors become its documented problem+json responses."""

from __future__ import annotations

import inspect

from fastapi import APIRouter

from clinicflow.infra.error_responses import (
    PROBLEM,
    PROBLEM_REF,
    SIGNED_IN,
    RouteDocs,
    documented,
    errors,
)
from clinicflow.shared.errors import Conflict, InvalidRequest, NotFound


class SlotTaken(Conflict):
    code = "slot_taken"
    title = "Slot taken"


class NoSuchThing(NotFound):
    code = "no_such_thing"


def test_one_response_per_status_naming_each_code_once() -> None:
    found = errors(*SIGNED_IN, NoSuchThing, SlotTaken, Conflict, SlotTaken, InvalidRequest)
    assert list(found) == [401, 403, 404, 409, 422]
    assert found[409]["description"] == (
        "Slot taken (`slot_taken`); Conflict with the current state (`conflict`)"
    )
    assert found[401]["description"] == "Authentication required (`authentication_required`)"
    for response in found.values():
        assert response["content"] == {PROBLEM: {"schema": {"$ref": PROBLEM_REF}}}


def test_answers_of_another_context_are_added_in_words() -> None:
    found = errors(SlotTaken, also={409: "booking's `slot_unavailable`", 503: "down"})
    assert found[409]["description"] == "Slot taken (`slot_taken`); booking's `slot_unavailable`"
    assert found[503]["description"] == "down"


def test_a_route_is_documented_by_the_keywords_its_decorator_takes() -> None:
    assert documented("listThings", "List the things") == {
        "operation_id": "listThings",
        "summary": "List the things",
    }
    docs = documented("getThing", "Read a thing", *SIGNED_IN, NoSuchThing, status_code=201)
    assert docs == {
        "operation_id": "getThing",
        "summary": "Read a thing",
        "responses": errors(*SIGNED_IN, NoSuchThing),
        "status_code": 201,
    }
    taken = inspect.signature(APIRouter.get).parameters
    assert set(RouteDocs.__annotations__) <= set(taken)


def test_a_routes_own_responses_come_before_its_errors() -> None:
    docs = documented(
        "claimThing", "Claim a thing", SlotTaken, also={503: "down"}, responses={200: {"a": 1}}
    )
    assert docs["responses"] == {200: {"a": 1}, **errors(SlotTaken, also={503: "down"})}
    assert list(docs["responses"]) == [200, 409, 503]
