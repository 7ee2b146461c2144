"""One writer per state machine (DESIGN.md §3, issue #15): only the owner module changes the
state column of an order, a window, a delivery batch or a pickup code.

Read from the source, so a second writer fails here even on a path no other test walks: an
`update(<Model or its table>)…values(…)` that sets `status` (or passes `**values`, which might),
an ORM assignment `x.status = …` in a module that imports the model, or raw SQL that updates the
table's status. Creating a row in its first state is not a transition and is not counted.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
OWNERS = {
    "Order": "app/services/orders/lifecycle.py",
    "Window": "app/services/windows/lifecycle.py",
    "DeliveryBatch": "app/services/deliveries/deliveries.py",
    "PickupCode": "app/services/pickup/codes.py",
}
TABLES = {"Order": "orders", "Window": "windows", "DeliveryBatch": "delivery_batches", "PickupCode": "pickup_codes"}


def _model_of(node: ast.AST, aliases: dict[str, str]) -> str | None:
    """The model an `update(...)` argument names: `Order`, `Order.__table__` or an alias of it."""
    if isinstance(node, ast.Name):
        return node.id if node.id in OWNERS else aliases.get(node.id)
    if isinstance(node, ast.Attribute) and node.attr == "__table__" and isinstance(node.value, ast.Name):
        return node.value.id if node.value.id in OWNERS else None
    return None


def _aliases(tree: ast.AST) -> dict[str, str]:
    """Names bound to a model's table: `_O = Order.__table__`, `_O, _L = Order.__table__, …`."""
    found = {}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Assign):
            continue
        for target in node.targets:
            pairs = (
                zip(target.elts, node.value.elts, strict=False)
                if isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple)
                else [(target, node.value)]
            )
            for name, value in pairs:
                model = _model_of(value, {})
                if isinstance(name, ast.Name) and model:
                    found[name.id] = model
    return found


def _updated_model(call: ast.Call, aliases: dict[str, str]) -> str | None:
    """For `<…update(X)…>.values(...)`, the model X names."""
    node = call.func.value
    while isinstance(node, ast.Call | ast.Attribute):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            if name == "update" and node.args:
                return _model_of(node.args[0], aliases)
            node = func
        else:
            node = node.value
    return None


def _sets_status(call: ast.Call) -> bool:
    if any(kw.arg in (None, "status") for kw in call.keywords):
        return True
    for arg in call.args:
        if not isinstance(arg, ast.Dict):
            return True  # a mapping built elsewhere may hold the status
        if any(k is None or (isinstance(k, ast.Constant) and k.value == "status") for k in arg.keys):
            return True
    return False


def status_writes(source: str) -> set[str]:
    """The models whose status this module's source writes."""
    tree = ast.parse(source)
    aliases = _aliases(tree)
    imported = {
        alias.asname or alias.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) for alias in n.names
    }
    writes = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "values":
            model = _updated_model(node, aliases)
            if model and _sets_status(node):
                writes.add(model)
        elif isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Attribute) and t.attr == "status" for t in targets):
                writes.update(model for model in OWNERS if model in imported)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            for model, table in TABLES.items():
                if re.search(rf"UPDATE\s+{table}\s+SET\b[^;]*\bstatus\s*=", node.value, re.IGNORECASE):
                    writes.add(model)
    return writes


def _modules():
    for path in sorted((ROOT / "app").rglob("*.py")):
        yield path.relative_to(ROOT).as_posix(), path.read_text(encoding="utf-8")


def test_only_the_owner_writes_each_state():
    second_writers = {
        (model, name) for name, source in _modules() for model in status_writes(source) if OWNERS[model] != name
    }
    assert second_writers == set(), "write the state through its owner module (docs/architecture.md)"


def test_each_owner_still_writes_its_state():
    # Guards the reader above: if it stopped recognising the owners' writes, the test before
    # this one would pass for the wrong reason.
    for model, owner in OWNERS.items():
        assert model in status_writes((ROOT / owner).read_text(encoding="utf-8")), owner


@pytest.mark.parametrize(
    ("source", "model"),
    [
        ("from app.models import Order\nupdate(Order).where(x).values(status='paid')", "Order"),
        ("_O = Order.__table__\nupdate(_O).values(status=bindparam('s'))", "Order"),
        ("_O, _W = Order.__table__, Window.__table__\nupdate(_W).where(a).values(**values)", "Window"),
        ("update(PickupCode.__table__).values({'status': 'void'})", "PickupCode"),
        ("update(DeliveryBatch).values(target_values)", "DeliveryBatch"),
        ("from app.models import Order\norder.status = 'completed'", "Order"),
        ("conn.exec_driver_sql('UPDATE pickup_codes SET live_code = NULL, status = ? WHERE id = ?')", "PickupCode"),
    ],
)
def test_the_reader_sees_every_way_of_writing_a_status(source, model):
    assert status_writes(source) == {model}


@pytest.mark.parametrize(
    "source",
    [
        "update(Order).where(Order.status == 'paid').values(reminded_at=now)",
        "insert(Order.__table__).values(status='pending_payment')",
        "update(WindowItem).values(status='failed')",
        "from app.models import OutboxMessage\nmessage.status = 'sent'",
    ],
)
def test_the_reader_ignores_what_is_not_a_transition_of_these_states(source):
    assert status_writes(source) == set()


def test_only_the_order_owner_writes_order_events_besides_the_placing_itself():
    # An order's history is written with its moves; placing an order writes the first entry.
    writers = {
        name
        for name, source in _modules()
        if re.search(r"OrderEvent\(|OrderEvent\.__table__", source) and not name.startswith("app/models/")
    }
    assert writers == {OWNERS["Order"], "app/services/orders/ordering.py"}
