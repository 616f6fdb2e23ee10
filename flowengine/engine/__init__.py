"""The engine: the :class:`Engine` facade and the small parts it is made of.

``from flowengine import Engine`` (or ``from flowengine.engine import Engine``).
"""

from __future__ import annotations

from flowengine.engine.facade import CaseRows, CatalogueRows, DeliveryRows, Engine
from flowengine.engine.people import parse_grant
from flowengine.engine.persistence import RECEIPT_STATE
from flowengine.engine.queries import InstanceView
from flowengine.policy import MANAGER_ROLE

__all__ = [
    "MANAGER_ROLE",
    "RECEIPT_STATE",
    "CaseRows",
    "CatalogueRows",
    "DeliveryRows",
    "Engine",
    "InstanceView",
    "parse_grant",
]
