"""Stripe's wire format: bracket-notation parameters and error bodies.

Requests arrive form-encoded (`metadata[member_id]=1`, `line_items[0][price]=`,
`expand[]=x` or `expand[0]=x`, as the SDK writes it). `parse_params` turns them
into nested dicts and lists; the helpers below validate them and raise
`StripeError`, which the API layer turns into Stripe's error body.
"""
import re

_TOKEN = re.compile(r"\[([^\]]*)\]")


class StripeError(Exception):
    """An error answered in Stripe's format: ``{"error": {type, code, message, param}}``."""

    def __init__(self, message, *, status=400, type_="invalid_request_error",
                 code=None, param=None, decline_code=None):
        super().__init__(message)
        self.message, self.status, self.type, self.code = message, status, type_, code
        self.param, self.decline_code = param, decline_code

    def body(self) -> dict:
        error = {"type": self.type, "message": self.message}
        if self.code:
            error["code"] = self.code
            error["doc_url"] = "https://stripe.com/docs/error-codes/" + self.code.replace("_", "-")
        if self.param:
            error["param"] = self.param
        if self.decline_code:
            error["decline_code"] = self.decline_code
        return {"error": error}


def no_such(kind: str, obj_id: str, param: str = "id", status: int = 404) -> StripeError:
    return StripeError(f"No such {kind}: '{obj_id}'", status=status,
                       code="resource_missing", param=param)


def fetch(sb, kind: str, obj_id, param: str = "id", status: int = 404, label: str | None = None) -> dict:
    """The stored object of `kind` with this id, or Stripe's resource_missing error naming `param`."""
    found = sb.store.get(obj_id, kind) if isinstance(obj_id, str) else None
    if found is None:
        raise no_such(label or kind, obj_id, param, status)
    return found


def parse_params(pairs) -> dict:
    """Nest flat ``(key, value)`` pairs written in bracket notation."""
    root: dict = {}
    for key, value in pairs:
        head = key.split("[", 1)[0]
        path = [head] + _TOKEN.findall(key[len(head):])
        node = root
        for i, part in enumerate(path[:-1]):
            nxt = path[i + 1]
            node = _child(node, part, [] if nxt == "" else {})
        last = path[-1]
        if last == "" and isinstance(node, list):
            node.append(value)
        else:
            node[last] = value
    return _listify(root)


def _child(node, part, empty):
    if isinstance(node, list):  # "a[][b]": each bracket pair opens a new element
        node.append({})
        return node[-1]
    return node.setdefault(part, empty)


def _listify(node):
    """Dicts keyed "0", "1", ... (the SDK's indexed arrays) become lists."""
    if isinstance(node, list):
        return [_listify(v) for v in node]
    if not isinstance(node, dict):
        return node
    node = {k: _listify(v) for k, v in node.items()}
    if node and all(k.isdigit() for k in node):
        return [node[k] for k in sorted(node, key=int)]
    return node


def reject_unknown(params: dict, allowed, prefix: str = "") -> None:
    """400 parameter_unknown for the first key not in `allowed` (`expand` always is)."""
    for key in params:
        if key not in allowed and not (key == "expand" and not prefix):
            name = f"{prefix}[{key}]" if prefix else key
            raise StripeError(f"Received unknown parameter: {name}",
                              code="parameter_unknown", param=name)


def required(params: dict, name: str, label: str | None = None):
    value = params.get(name)
    if value is None or value == "":
        raise StripeError(f"Missing required param: {label or name}.",
                          code="parameter_missing", param=label or name)
    return value


def string(params: dict, name: str, default=None, label=None):
    value = params.get(name, default)
    if value is not None and not isinstance(value, str):
        raise StripeError(f"Invalid string: {label or name}", param=label or name,
                          code="parameter_invalid_string")
    return value


def integer(params: dict, name: str, default=None, label=None, minimum=None):
    value = params.get(name)
    if value is None:
        return default
    label = label or name
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise StripeError(f"Invalid integer: {value}", code="parameter_invalid_integer",
                          param=label) from None
    if minimum is not None and number < minimum:
        raise StripeError(f"This value must be greater than or equal to {minimum}.",
                          code="parameter_invalid_integer", param=label)
    return number


def boolean(params: dict, name: str, default=None, label=None):
    value = params.get(name)
    if value is None:
        return default
    if value in ("true", "false"):
        return value == "true"
    raise StripeError(f"Invalid boolean: {value}", param=label or name,
                      code="parameter_invalid_boolean")


def choice(params: dict, name: str, choices, default=None, label=None):
    value = params.get(name, default)
    if value is not None and value not in choices:
        options = ", ".join(choices)
        raise StripeError(f"Invalid {label or name}: must be one of {options}",
                          param=label or name)
    return value


def metadata(params: dict, name: str = "metadata", current: dict | None = None) -> dict:
    """Merge metadata as Stripe does: keys set, an empty string unsets a key."""
    result = dict(current or {})
    value = params.get(name)
    if value is None:
        return result
    if value == "":  # metadata= clears it all
        return {}
    if not isinstance(value, dict):
        raise StripeError("Invalid metadata: must be a hash", param=name)
    for key, item in value.items():
        if not isinstance(item, str):
            raise StripeError(f"Invalid value for {name}[{key}]", param=f"{name}[{key}]")
        if item == "":
            result.pop(key, None)
        else:
            result[key] = item
    return result


def string_list(params: dict, name: str) -> list[str] | None:
    value = params.get(name)
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise StripeError(f"Invalid array: {name}", param=name, code="parameter_invalid_array")
    return value
