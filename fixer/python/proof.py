"""A cheap proof for kubernetes-client code: the library's own models accept what kfix wrote.

When the ``kubernetes`` (or ``kubernetes_asyncio``) package is installed, every argument kfix adds to a
client model call is checked against that model's fields, and the new value is built with the library's
classes and serialised (``ApiClient().sanitize_for_serialization``) without a cluster: it must give back
exactly the intended API data. Nothing of the user's program is imported or run.
"""

from __future__ import annotations

import importlib
from typing import Any

from kfix.errors import VerificationError
from kfix.python.names import CLIENT, FIELD_TYPES, MAP_FIELDS, snake


def _module(name: str):
    try:
        return importlib.import_module(name)
    except Exception:  # noqa: BLE001 - not installed (or broken): the proof is optional
        return None


def _field_names(cls: type) -> set[str]:
    fields = getattr(cls, "model_fields", None)  # pydantic models (kubernetes >= 37)
    if fields is None:
        fields = getattr(cls, "openapi_types", {})  # openapi-generator models
    return set(fields)


def _build(module, api_type: str | None, value: Any) -> Any:
    if isinstance(value, list):
        return [_build(module, api_type, v) for v in value]
    if not isinstance(value, dict) or api_type in (None, "map"):
        return value
    cls = getattr(module, f"V1{api_type}", None)
    if cls is None:
        raise VerificationError(f"the kubernetes client has no class V1{api_type}")
    names = _field_names(cls)
    kwargs = {}
    for key, sub in value.items():
        kw = snake(key)
        if kw not in names:
            raise VerificationError(f"V1{api_type} has no field {kw} in the installed kubernetes client")
        kwargs[kw] = _build(module, FIELD_TYPES.get((api_type, key), "map" if key in MAP_FIELDS else None), sub)
    try:
        return cls(**kwargs)
    except Exception as exc:  # noqa: BLE001 - the model refused the value: never write it
        raise VerificationError(f"V1{api_type} refuses the new value: {' '.join(str(exc).split())[:200]}") from None


def prove_client_edits(edits) -> int:
    """Check the edits to kubernetes-client models with the installed library; the number of values built
    (0 when the library is not installed). Raises VerificationError when a model refuses one."""
    checked = 0
    pairs = [(obj, obj.type, fields) for obj, fields in edits.added.values()]
    for seq, items in edits.appended.values():
        model = next((v for v in seq.items if getattr(v, "ref", None) is not None), None)
        if model is not None:
            pairs.append((model, None, {None: items}))
    for obj, owner, fields in pairs:
        if obj.family != CLIENT or obj.ref is None:
            continue
        package = _module(obj.ref.module)
        if package is None:
            continue
        api = _module(obj.ref.module + ".api_client")
        serialise = api.ApiClient().sanitize_for_serialization if api is not None else None
        for key, value in fields.items():
            if key is None:  # new list items of the list's own type
                built, want = _build(package, obj.type, value), value
            else:
                cls = getattr(package, obj.ref.name, None)
                if cls is not None and snake(key) not in _field_names(cls):
                    raise VerificationError(f"{obj.ref.name} has no field {snake(key)} in the installed kubernetes "
                                            "client")
                sub = FIELD_TYPES.get((owner, key), "map" if key in MAP_FIELDS else None)
                built, want = _build(package, sub, value), value
            if serialise is not None and serialise(built) != want:
                raise VerificationError(f"the kubernetes client serialises the new {key or 'items'} differently: "
                                        f"{serialise(built)!r}")
            checked += 1
    return checked
