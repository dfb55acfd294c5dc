"""JSON Schema checks of raw documents, with each error placed at its file, line and column."""

from __future__ import annotations

import functools
import json
from typing import Any

import jsonschema
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from . import bundled
from .errors import Diagnostic, did_you_mean
from .loader import SourceMap, read_bytes

# In the repository (and an editable install) the schemas are the folder beside `engine/`; an
# installed wheel (pre-commit installs one) carries them as `engine/schemas/` (see `bundled`).
SCHEMA_DIR = bundled.folder("schemas")


@functools.cache
def load_schema(name: str) -> dict:
    """One of the bundled schemas (`policy`, `decision`, `policy-test`), read once per process."""
    raw, problem = read_bytes(SCHEMA_DIR / f"{name}.schema.json")
    if problem:
        raise RuntimeError(f"the bundled schema `{name}` is missing: {problem.one_line()}")
    return json.loads(raw)


#: The bundled schemas, by the name `verdict schema` gives them; each is the file `<name>.schema.json`.
BUNDLED = ("policy", "variant", "decision", "policy-test")


@functools.cache
def _validator(name: str) -> Draft202012Validator:
    schema = load_schema(name)
    Draft202012Validator.check_schema(schema)
    # The schemas refer to each other by relative file name (`policy.schema.json#/$defs/fact`) and
    # declare no `$id` of their own, so that an editor or check-jsonschema resolves those references
    # beside the file it read, without the network. Here they resolve against the same file names.
    registry = Registry().with_resources(
        (f"{other}.schema.json", Resource.from_contents(load_schema(other))) for other in BUNDLED)
    return Draft202012Validator(schema, registry=registry)


def schema_files() -> dict[str, bytes]:
    """Every bundled schema file, by file name, as shipped: what `verdict schema --write DIR` copies.

    They are copied as bytes, not re-serialised, so that a copy is identical to the bundled file and
    its relative references resolve among the copies."""
    files = {}
    for name in BUNDLED:
        raw, problem = read_bytes(SCHEMA_DIR / f"{name}.schema.json")
        if problem:
            raise RuntimeError(f"the bundled schema `{name}` is missing: {problem.one_line()}")
        files[f"{name}.schema.json"] = raw
    return files


def check(name: str, data: Any, source_map: SourceMap, subject_of=None) -> list[Diagnostic]:
    """Validate `data` against the bundled schema `name`; one diagnostic per problem, all of them.

    :param subject_of: optional function from a JSON path to the subject (e.g. clause id) to name.
    """
    diagnostics = []
    errors = list(_validator(name).iter_errors(data))
    # A "one of these keys" rule says nothing new where a key is already reported missing there.
    required_at = {tuple(e.absolute_path) for e in errors if e.validator == "required"}
    for error in errors:
        if _alternative_keys(error) and tuple(error.absolute_path) in required_at:
            continue
        alternatives = _alternative_keys(error)
        if alternatives:
            present = [k for k in alternatives if isinstance(error.instance, dict) and k in error.instance]
            message = (f"{_where(error)}: give only one of " if present else f"{_where(error)}: give one of ") + \
                ", ".join(f"`{k}`" for k in alternatives)
            location = source_map.locate(tuple(error.absolute_path))
            diagnostics.append(Diagnostic("schema", message, location, subject_of(tuple(error.absolute_path)) if subject_of else ""))
            continue
        specific = _most_specific(error)
        path = tuple(specific.absolute_path)
        message, help_text, at_key = _describe(specific)
        if at_key is not None:
            location = source_map.locate(path + (at_key,), key=True)
        else:
            location = source_map.locate(path)
        subject = subject_of(path) if subject_of else ""
        diagnostics.append(Diagnostic("schema", message, location, subject, help_text))
    return diagnostics


def _alternative_keys(error: jsonschema.ValidationError) -> list[str]:
    """For a `oneOf` of `required` alternatives (`source` or `legal`...), the keys; else []."""
    if error.validator != "oneOf" or not all(set(sub) == {"required"} for sub in error.validator_value):
        return []
    return [key for sub in error.validator_value for key in sub["required"]]


def _most_specific(error: jsonschema.ValidationError) -> jsonschema.ValidationError:
    """For `oneOf`/`anyOf`, the sub-error that goes deepest, so the message says what to fix."""
    if error.context and isinstance(error.instance, dict):
        # A mapping was meant to match the mapping branch: its own complaint is the useful one.
        for sub in error.context:
            if sub.validator in ("additionalProperties", "required") and sub.instance is error.instance:
                return sub
    if error.context:
        deepest = jsonschema.exceptions.best_match(
            error.context, key=lambda e: (len(e.absolute_path), e.validator not in ("type", "oneOf", "anyOf"))
        )
        if deepest is not None and len(deepest.absolute_path) > len(error.absolute_path):
            return _most_specific(deepest)
    return error


def _where(error: jsonschema.ValidationError) -> str:
    return error.json_path.replace("$", "", 1).lstrip(".") or "the document"


def _describe(error: jsonschema.ValidationError) -> tuple[str, str, str | None]:
    """(message, help, key to point at) in our message style."""
    where = _where(error)
    kind = error.validator
    if kind == "additionalProperties":
        allowed = list(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - set(allowed)) if isinstance(error.instance, dict) else []
        if extra and allowed:
            key = extra[0]
            hint = did_you_mean(key, allowed) or "allowed keys: " + ", ".join(f"`{k}`" for k in allowed)
            return f"{where}: unknown key `{key}`", hint, key
    if kind == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        return f"{where}: missing required key `{missing}`", "", None
    if kind == "enum":
        choices = ", ".join(f"`{c}`" for c in error.validator_value)
        return f"{where}: `{error.instance}` is not allowed", f"use one of {choices}", None
    if kind == "pattern":
        return f"{where}: `{error.instance}` does not match the pattern `{error.validator_value}`", "", None
    if kind == "type":
        expected = error.validator_value if isinstance(error.validator_value, str) else " or ".join(error.validator_value)
        return f"{where}: expected {expected}, got `{json.dumps(error.instance, default=str)[:60]}`", "", None
    if kind in ("oneOf", "anyOf") and error.schema.get("description"):
        first = error.schema["description"].split(". ")[0].rstrip(".")
        return f"{where}: not valid here: {first[0].lower()}{first[1:]}", "", None
    if kind == "uniqueItems":
        return f"{where}: lists the same item twice", "", None
    if kind in ("minItems", "minProperties", "minLength"):
        return f"{where}: must not be empty", "", None
    if kind == "not" and isinstance(error.instance, dict) and "anyOf" in error.validator_value:
        key = next(k for k in ("source", "origin", "legal") if k in error.instance)
        return (f"{where}: `{key}` belongs to each dated value when the parameter has `values`",
                f"move `{key}` into the dated value it documents", key)
    if kind == "not" and isinstance(error.instance, dict) and "values" in error.instance:
        return f"{where}: `values` belongs only to enum (and list) types", "", "values"
    return f"{where}: {' '.join(error.message.split())}", "", None
