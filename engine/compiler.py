"""From a schema-checked policy document to a compiled `Policy`, reporting every problem found.

The stages run in this order, each on what the previous ones accepted:
names (facts, parameters, derived, outputs) → expressions (parsed once, names resolved, enum
literals checked) → clauses (values, overrides) → graphs (cycles in derived values, overrides and
output reads) → quotes against the source text and sentence coverage.

Whether two clauses may decide one output differently (a conflict) is not judged here: it takes
the solver, and `verdict validate` asks it (engine/conflicts.py); loading never does.
"""

from __future__ import annotations

import ast
import bisect
import dataclasses
import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from typing import Any

from .cases import coerce
from .errors import DiagnosticSink, SourceLocation, did_you_mean
from .expressions import (MAX_DERIVED_DEPTH, CompiledExpression, compile_expression, conjuncts, constant_problems,
                          derived_depth, out_of_range, MAX_COMPUTED_TEXT)
from .kinds import ANY, BOOL, MONEY, NULL, NUMBER, Type, describe
from .loader import SourceMap
from .model import (Clause, Constraint, Derived, Disabled, DroppedProperty, Fact, Informational, LegalRef, NotModelled, Output,
                    OutputValue, Parameter, Policy, PolicyIdentity, Property, Quote, SourceRef)
from .sourcetext import Sentence, SourceText
from .typecheck import NullGuards, TypeChecker, TypeProblem, literal_type
from .values import VALUE_TYPES, read_value, static_type

@dataclass(frozen=True)
class SourceDocument:
    """The source text a policy quotes, as read by the loader."""

    file: str
    text: str
    sha256: str


def compile_policy(data: dict, source_map: SourceMap, source: SourceDocument | None,
                   policy_sha256: str, variant_files: tuple[tuple[str, str], ...] = ()) -> tuple[Policy | None, list]:
    """Compile a schema-valid policy document (or one merged with variants, see `variants.overlay`);
    returns (policy, []) or (None, diagnostics).

    :param variant_files: (name, sha256) of each variant file merged in, for the policy's identity.
    """
    compiler = _Compiler(data, source_map, source)
    compiler.variant_files = variant_files
    policy = compiler.run(policy_sha256)
    return (None, compiler.sink.items) if compiler.sink else (policy, [])


class _Compiler:
    def __init__(self, data: dict, source_map: SourceMap, source: SourceDocument | None):
        self.variant_files: tuple[tuple[str, str], ...] = ()
        self.data = data
        self.map = source_map
        self.sink = DiagnosticSink()
        self.source = source
        self.text = SourceText(source.text) if source else None
        self.kinds: dict[str, str] = {}  # every name usable in expressions → fact/parameter/derived/output
        self.facts: dict[str, Fact] = {}
        self.parameters: dict[str, Parameter] = {}
        self.derived: dict[str, Derived] = {}
        self.outputs: dict[str, Output] = {}
        # The values of each enum and list fact and output, as a set: a literal is looked up in
        # them once per clause, and a tuple of N values scanned per clause made loading quadratic.
        self.value_sets: dict[str, frozenset[str]] = {}
        self.clauses: list[Clause] = []
        self.quotes_seen: list[tuple[Quote, tuple]] = []
        self.condition_locations: dict[str, SourceLocation] = {}
        self.types = TypeChecker(self._name_type)
        # Each derived value's type, inferred once, in dependency order (`_derived`).
        self.derived_types: dict[str, Type] = {}
        # How deep each derived value nests, counting those it reads (`MAX_DERIVED_DEPTH`).
        self.depths: dict[str, int] = {}
        self.nulls = NullGuards(self._name_type, self._derived_tree)

    def error(self, code: str, message: str, path: tuple, subject: str = "", help: str = "", key: bool = False) -> None:
        self.sink.add(code, message, self.map.locate(path, key=key), subject, help)

    # -- the stages ---------------------------------------------------------------------------

    def run(self, policy_sha256: str) -> Policy | None:
        identity = self._identity(policy_sha256)
        self._facts()
        self._parameters()
        self._output_declarations()
        self._derived()
        constraints = self._constraints()
        self._clauses()
        properties = self._properties()
        overridden_by = self._override_graph()
        writers = self._writers()
        setters = {name: tuple(clause.id for clause, _ in writers[name]) for name in self.outputs}
        self._output_read_cycles(overridden_by)
        informational = self._informational()
        self._sentence_coverage()
        if self.sink or identity is None:
            return None
        return Policy(
            identity=identity, facts=self.facts, parameters=self.parameters, derived=self.derived,
            outputs=self.outputs, clauses=tuple(self.clauses), informational=tuple(informational),
            overridden_by=overridden_by, setters=setters,
            condition_locations=self.condition_locations, disabled=self._disabled(),
            not_modelled=tuple(NotModelled(e["variant"], e["act"], e["article"], e["reason"], e["url"])
                               for e in self.data.get("_not_modelled") or []),
            countries=tuple((self.data.get("_variant") or {}).get("countries", ())),
            constraints=constraints, properties=properties,
            dropped_properties=tuple(DroppedProperty(e["property"], e["variant"], e["reason"])
                                     for e in self.data.get("_dropped_properties") or []),
        )

    def _identity(self, policy_sha256: str) -> PolicyIdentity | None:
        meta = self.data["policy"]
        effective = self._date(meta["effective_from"], ("policy", "effective_from"), "")
        declared = meta["source"]["sha256"]
        if self.source is None:
            self.error("source_missing", f"the source document `{meta['source']['file']}` cannot be read",
                       ("policy", "source", "file"), help="ship the source text beside the policy file")
            return None
        if self.source.sha256 != declared:
            self.error("source_changed",
                       f"the source document's sha256 is `{self.source.sha256}`, not the recorded `{declared}`",
                       ("policy", "source", "sha256"),
                       help="the text changed: re-check every quote, then record the new sha256")
        if effective is None:
            return None
        files = ((self.map.file.replace("\\", "/").rsplit("/", 1)[-1], policy_sha256),
                 (self.source.file, self.source.sha256)) + tuple(self.variant_files)
        lines = "".join(f"{digest}  {name}\n" for name, digest in files)
        window = self.data.get("_dated")
        if window:  # one file, several windows of dated content: each window is content of its own
            lines += f"{window['from']}..{window['until'] or ''}  dated window\n"
        content = hashlib.sha256(lines.encode()).hexdigest()
        chain = tuple(self.data.get("_chain") or (meta["id"],))
        until = self._date(meta["effective_until"], ("policy", "effective_until"), "") if "effective_until" in meta else None
        return PolicyIdentity(meta["id"], meta["version"], effective, meta["title"], content, files,
                              self.source.file, self.source.sha256, chain, until)

    def _date(self, raw: str, path: tuple, subject: str) -> dt.date | None:
        try:
            return dt.date.fromisoformat(raw)
        except ValueError:
            self.error("bad_date", f"`{raw}` is not a real date", path, subject)
            return None

    def _claim_name(self, name: str, kind: str, path: tuple) -> bool:
        if name in self.kinds:
            self.error("duplicate_name", f"`{name}` is already declared as a {self.kinds[name]}", path, name, key=True,
                       help="facts, parameters, derived values and outputs share one namespace")
            return False
        self.kinds[name] = kind
        return True

    def _facts(self) -> None:
        for name, spec in self.data["facts"].items():
            path = ("facts", name)
            if not self._claim_name(name, "fact", path):
                continue
            kind = spec["type"]
            bounds = {}
            for key in ("minimum", "maximum"):
                if key in spec and kind not in ("int", "number", "money"):
                    self.error("fact_key", f"`{key}` is only for int, number and money facts", path + (key,), name, key=True)
                elif key in spec:
                    bounds[key] = spec[key]
                    if kind == "money":  # compared with amounts exactly, not as binary numbers
                        bounds[key], problem = read_value(f"{name}.{key}", "money", spec[key])
                        if problem:
                            self.error("fact_range", problem[0], path + (key,), name)
            if "minimum" in spec and "maximum" in spec and spec["minimum"] > spec["maximum"]:
                self.error("fact_range", f"`minimum` ({spec['minimum']}) is above `maximum` ({spec['maximum']})",
                           path + ("minimum",), name, key=True)
            if "pattern" in spec:
                if kind != "string":
                    self.error("fact_key", "`pattern` is only for string facts", path + ("pattern",), name, key=True)
                try:
                    re.compile(spec["pattern"])
                except re.error as exc:
                    self.error("fact_pattern", f"`pattern` is not a valid regular expression: {exc}", path + ("pattern",), name)
            fact = Fact(
                name=name, type=kind, description=spec["description"], location=self.map.locate(path, key=True),
                values=tuple(spec.get("values", ())), nullable=bool(spec.get("nullable", False)),
                minimum=bounds.get("minimum"), maximum=bounds.get("maximum"), pattern=spec.get("pattern"),
                examples=tuple(spec.get("examples", ())), sensitive=bool(spec.get("sensitive", False)),
            )
            if "default" in spec:
                value, problem = coerce(fact, spec["default"])
                if problem:
                    self.error("fact_default", f"`default`: {problem}", path + ("default",), name)
                fact = dataclasses.replace(fact, has_default=True, default=value)
            self.facts[name] = fact
            self.value_sets[name] = frozenset(fact.values)

    def _parameters(self) -> None:
        for name, spec in (self.data.get("parameters") or {}).items():
            path = ("parameters", name)
            if not self._claim_name(name, "parameter", path):
                continue
            source = self._source_ref(spec.get("source"), path + ("source",), name)
            value = spec["value"]
            if spec.get("type") == "money":
                value, problem = read_value(name, "money", value)
                if problem:
                    self.error("parameter_value", problem[0], path + ("value",), name,
                               problem[1] or "an amount of money is a number with at most two decimals, such as `5.00`")
            elif out_of_range(value):
                self.error("value_out_of_range", f"the value {_written(value)} is beyond the limit of ±10^15 "
                           f"(of {MAX_COMPUTED_TEXT} characters for a text), or not finite", path + ("value",), name,
                           "every number a policy writes or computes is finite and at most 10^15 in magnitude")
            self.parameters[name] = Parameter(
                name=name, value=value, description=spec["description"],
                location=self.map.locate(path, key=True), unit=spec.get("unit", ""), source=source,
                origin=spec.get("origin", ""), legal=self._legal(spec.get("legal"), path + ("legal",), name),
                since=dt.date.fromisoformat(spec["_since"]) if "_since" in spec else None,
            )

    def _output_declarations(self) -> None:
        for name, spec in self.data["outputs"].items():
            path = ("outputs", name)
            if not self._claim_name(name, "output", path):
                continue
            kind = spec["type"]
            values = tuple(spec.get("values", ()))
            self.value_sets[name] = allowed = frozenset(values)
            undetermined = spec.get("undetermined")
            if undetermined is not None and (kind != "enum" or not _among(undetermined, allowed)):
                self.error("output_undetermined", f"`undetermined` must be one of the values of an enum output, not `{undetermined}`",
                           path + ("undetermined",), name)
            output = Output(name=name, type=kind, description=spec["description"],
                            location=self.map.locate(path, key=True), values=values,
                            nullable=bool(spec.get("nullable", False)), undetermined=undetermined,
                            meanings=tuple(sorted((spec.get("meanings") or {}).items())),
                            preference=tuple(spec.get("preference", ())))
            for position, value in enumerate(spec.get("preference", ())):
                if kind != "enum" or not _among(value, allowed):
                    self.error("output_preference", f"`preference` names `{value}`, which is not a value of `{name}`",
                               path + ("preference", position), name, did_you_mean(str(value), values))
            for value in (spec.get("meanings") or {}):
                if not _among(value, allowed):
                    self.error("output_meaning", f"`meanings` explains `{value}`, which is not a value of `{name}`",
                               path + ("meanings", value), name, did_you_mean(value, values), key=True)
            default = [] if kind == "list" else None
            if "default" in spec:
                default = self._literal_for(output, spec["default"], path + ("default",), name)
            elif kind != "list" and not output.nullable:
                self.error("output_default", f"output `{name}` needs a `default` (the value when no clause sets it), or `nullable: true`",
                           path, name, key=True)
            self.outputs[name] = dataclasses.replace(output, default=None if default is _INVALID else default)

    def _derived(self) -> None:
        """Parse every derived value, refuse cycles and chains too deep, then check the types in
        dependency order, each once: a derived value read by many others (or many times) is
        typed once, and no check recurses through a chain of derived values."""
        specs = self.data.get("derived") or {}
        for name in specs:
            self._claim_name(name, "derived value", ("derived", name))
        locators = {}
        for name, spec in specs.items():
            if self.kinds.get(name) != "derived value":
                continue
            path = ("derived", name)
            parsed = self._parse(spec["expression"], path + ("expression",), name,
                                 allowed=("fact", "parameter", "derived value"))
            source = self._source_ref(spec.get("source"), path + ("source",), name)
            if parsed is not None:
                expression, locators[name] = parsed
                self.derived[name] = Derived(name, expression, spec["description"], self.map.locate(path, key=True),
                                             source, spec.get("interpretation", ""))
        graph = {n: sorted(m for m in d.expression.names if m in self.derived) for n, d in self.derived.items()}
        self._cycles(graph, lambda n: ("derived", n), "derived_cycle", "derived value")
        order = _dependency_order(graph)
        for name in order:
            reads = graph[name]
            if any(m not in self.depths for m in reads):  # reads one that is too deep: said there already
                del self.derived[name]
                continue
            if not self._shallow_enough(self.derived[name].expression.tree, locators[name](0), name):
                del self.derived[name]
                continue
            self.depths[name] = derived_depth(self.derived[name].expression.tree, lambda n: self.depths.get(n, 0))
        ordered = set(order)
        for name in graph:
            if name not in ordered:  # on a cycle, or reading one: typed as anything
                self.derived_types[name] = ANY
        for name in [n for n in order if n in self.derived] + [n for n in graph if n not in ordered]:
            typed = self._typed(self.derived[name].expression, locators[name], name)
            if typed is None:
                del self.derived[name]
                self.derived_types[name] = ANY
                continue
            expression, self.derived_types[name] = typed
            self.derived[name] = dataclasses.replace(self.derived[name], expression=expression)
        for name, derived in self.derived.items():
            for use in self.nulls.needs(name):
                if use.name is None:  # null written in the derived value itself: no reader can guard it
                    self._null_use(use, locators[name], name)

    def _constraints(self) -> dict[str, Constraint]:
        """Each constraint: a condition over facts alone (typed, null-guarded and bounded like a
        `when`), since it is checked on the case as given, before anything is computed."""
        constraints = {}
        for name, spec in (self.data.get("constraints") or {}).items():
            path = ("constraints", name)
            expression = self._expression(spec["expression"], path + ("expression",), name, allowed=("fact",),
                                          expect=(BOOL, "a constraint"), condition=True)
            source = self._source_ref(spec.get("source"), path + ("source",), name)
            if expression is not None:
                constraints[name] = Constraint(name, expression, spec["message"], self.map.locate(path, key=True), source)
        return constraints

    def _properties(self) -> tuple[Property, ...]:
        """Each property: `assume` and `assert`, conditions over facts, parameters, derived values and
        outputs (typed and null-guarded like a `when`: a part that may be null must be guarded, so a
        promise fails to evaluate only where the policy itself does). Its quote is checked like any
        other, but encodes nothing: it leaves the sentence coverage as it was."""
        properties, seen = [], {}
        for index, spec in enumerate(self.data.get("properties") or []):
            path, property_id = ("properties", index), spec["id"]
            if property_id in seen:
                self.error("duplicate_property", f"duplicate property id `{property_id}` (first used by property "
                           f"{seen[property_id] + 1})", path + ("id",), property_id)
                continue
            seen[property_id] = index
            names = ("fact", "parameter", "derived value", "output")
            assume = None
            if spec.get("assume") is not None:
                assume = self._expression(spec["assume"], path + ("assume",), property_id, allowed=names,
                                          expect=(BOOL, "`assume`"), condition=True)
            assertion = self._expression(spec["assert"], path + ("assert",), property_id, allowed=names,
                                         expect=(BOOL, "`assert`"), condition=True)
            covered = len(self.quotes_seen)
            source = self._source_ref(spec.get("source"), path + ("source",), property_id)
            del self.quotes_seen[covered:]
            legal = self._legal(spec.get("legal"), path + ("legal",), property_id)
            if assertion is None or (spec.get("assume") is not None and assume is None):
                continue
            properties.append(Property(property_id, spec["description"], assertion, self.map.locate(path), assume,
                                       source, legal, spec.get("_origin", self.data["policy"]["id"])))
        return tuple(properties)

    def _shallow_enough(self, tree: ast.expr, at: SourceLocation, subject: str) -> bool:
        """Whether an expression, counting the derived values it reads at their own depth, nests at
        most `MAX_DERIVED_DEPTH` deep (see `expressions`); reports it otherwise."""
        depth = derived_depth(tree, lambda n: self.depths.get(n, 0))
        if depth <= MAX_DERIVED_DEPTH:
            return True
        chain = []
        names = [n for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id in self.depths]
        while names and len(chain) < 6:
            deepest = max(names, key=lambda n: self.depths[n.id]).id
            chain.append(f"`{deepest}`")
            names = [n for n in ast.walk(self.derived[deepest].expression.tree)
                     if isinstance(n, ast.Name) and n.id in self.depths]
        through = " → ".join(chain) + (" → …" if names else "")
        self.sink.add("derived_too_deep",
                      f"`{subject}` nests {depth} levels deep through the derived values it reads ({through}), "
                      f"more than the limit of {MAX_DERIVED_DEPTH}", at, subject,
                      "compute it in fewer steps: a chain of derived values that each read the one before is "
                      "evaluated as one deep expression")
        return False

    def _clauses(self) -> None:
        seen: dict[str, int] = {}
        for index, spec in enumerate(self.data["clauses"]):
            path = ("clauses", index)
            clause_id = spec["id"]
            if clause_id in seen:
                self.error("duplicate_clause", f"duplicate clause id `{clause_id}` (first used by clause {seen[clause_id] + 1})",
                           path + ("id",), clause_id)
                continue
            seen[clause_id] = index
            if clause_id == "all":
                self.error("reserved_id", "`all` cannot be a clause id: `overrides: all` means every clause", path + ("id",), clause_id)
                continue
            when = spec["when"]
            if isinstance(when, bool):
                when = "True" if when else "False"
            condition = self._expression(when, path + ("when",), clause_id,
                                         allowed=("fact", "parameter", "derived value", "output"),
                                         expect=(BOOL, "the condition"), condition=True)
            # A `then` value is computed only where the condition held (or is unknown for want of a
            # fact): what its parts rule out is ruled out there too.
            guarded = self.nulls.guards(condition.tree, True) if condition is not None else frozenset()
            self.condition_locations[clause_id] = self.map.locate(path + ("when",))
            sets = []
            for output_name, raw in spec["then"].items():
                value_path = path + ("then", output_name)
                output = self.outputs.get(output_name)
                if output is None:
                    if self.kinds.get(output_name) != "output":
                        self.error("unknown_output", f"`{output_name}` is not a declared output", value_path, clause_id,
                                   did_you_mean(output_name, self.outputs), key=True)
                    continue
                value = self._output_value(output, raw, value_path, clause_id, guarded)
                if value is not None:
                    sets.append((output_name, value))
            source = self._source_ref(spec.get("source"), path + ("source",), clause_id)
            legal = self._legal(spec.get("legal"), path + ("legal",), clause_id)
            if condition is None or (source is None and legal is None) or len(sets) != len(spec["then"]):
                continue
            at = self._locator(when, condition, path + ("when",))
            self.clauses.append(Clause(
                id=clause_id, title=spec["title"], source=source, condition=condition, sets=tuple(sets),
                part_locations=tuple(at(part.col_offset) for part in conjuncts(condition.tree)),
                location=self.map.locate(path), interpretation=spec.get("interpretation", ""),
                overrides=tuple(spec.get("overrides", ())) if spec.get("overrides") != "all" else (),
                overrides_all=spec.get("overrides") == "all",
                origin=spec.get("_origin", self.data["policy"]["id"]), legal=legal,
            ))

    def _output_value(self, output: Output, raw: Any, path: tuple, subject: str,
                      guarded: frozenset[str] = frozenset()) -> OutputValue | None:
        if isinstance(raw, dict):
            expression = self._expression(raw["expression"], path + ("expression",), subject,
                                          allowed=("fact", "parameter", "derived value", "output"),
                                          expect=(static_type(output.type, output.nullable), f"`{output.name}`"),
                                          guarded=guarded)
            if output.type in ("enum", "list"):
                self.error("output_value", f"`{output.name}` takes literal values only, so they can be checked", path, subject)
                return None
            return OutputValue(expression=expression) if expression else None
        literal = self._literal_for(output, raw, path, subject)
        return None if literal is _INVALID else OutputValue(literal=literal)

    def _literal_for(self, output: Output, raw: Any, path: tuple, subject: str) -> Any:
        """Check a literal against the output's declared type and values."""
        if raw is None:
            if output.nullable:
                return None
            self.error("output_value", f"`{output.name}` cannot be null", path, subject, "declare `nullable: true` on the output")
            return _INVALID
        value, problem = read_value(output.name, output.type, raw, output.values, self.value_sets[output.name])
        if problem:
            message, help_text = problem
            computable = output.type not in ("enum", "list") and isinstance(raw, str)
            if computable and set(re.findall(r"[A-Za-z_]\w*", raw)) & set(self.kinds):
                # It names a fact or a value of the policy: an expression written without its `expression:` key.
                help_text = f"to compute it, write `{{expression: {raw}}}`"
            self.error("output_value", message, path, subject, help_text)
            return _INVALID
        return value

    # -- expressions --------------------------------------------------------------------------

    def _expression(self, text: Any, path: tuple, subject: str, allowed: tuple[str, ...],
                    expect: tuple[Type, str] | None = None, condition: bool = False,
                    guarded: frozenset[str] = frozenset()) -> CompiledExpression | None:
        """Compile an expression and check its names, literals, types, constant parts, depth and nulls.

        :param expect: the type the whole expression must have, and what it is (for the message).
        :param condition: a clause's `when`: its parts must be true or false, and never null.
        :param guarded: names known not to be null where it is evaluated (a `then` value: those its
            clause's condition rules out).
        """
        parsed = self._parse(text, path, subject, allowed)
        if parsed is None:
            return None
        compiled, at = parsed
        if not self._shallow_enough(compiled.tree, at(0), subject):
            return None
        typed = self._typed(compiled, at, subject, expect)
        if typed is None:
            return None
        compiled = typed[0]
        if condition and not self._condition_parts_boolean(compiled.tree, at, subject):
            return None
        uses = self.nulls.uses(compiled.tree, guarded, condition)
        for use in uses:
            self._null_use(use, at, subject)
        return None if uses else compiled

    def _parse(self, text: Any, path: tuple, subject: str, allowed: tuple[str, ...]):
        """(the compiled expression, its locator) once it parses and names only what it may; or None."""
        compiled, problems = compile_expression(text)
        at = self._locator(text, compiled, path)

        for problem in problems:
            self.sink.add(problem.code, problem.message, at(problem.offset), subject, problem.help)
        if compiled is None:
            return None
        ok = True
        callees = {id(node.func) for node in ast.walk(compiled.tree) if isinstance(node, ast.Call)}
        for node in ast.walk(compiled.tree):
            if isinstance(node, ast.Name) and id(node) not in callees and not (isinstance(node.ctx, ast.Load) and node.id in ("True", "False", "None")):
                kind = self.kinds.get(node.id)
                if kind is None:
                    candidates = [n for n, k in self.kinds.items() if k in allowed]
                    self.sink.add("unknown_name", f"`{node.id}` is not a declared {_either(allowed)}",
                                  at(node.col_offset), subject, did_you_mean(node.id, candidates))
                    ok = False
                elif kind not in allowed:
                    self.sink.add("name_not_allowed", f"{_article(kind)} (`{node.id}`) cannot be read here", at(node.col_offset),
                                  subject, "a constraint reads only facts: it is checked on the case as given"
                                  if allowed == ("fact",) else "derived values read only facts, parameters and other derived values")
                    ok = False
            elif isinstance(node, ast.Compare):
                ok &= self._check_literals(node, at, subject)
        return (compiled, at) if ok else None  # types are judged only once names and literals are right

    def _typed(self, compiled: CompiledExpression, at, subject: str,
               expect: tuple[Type, str] | None = None) -> tuple[CompiledExpression, Type] | None:
        """The expression with the numbers written as amounts marked, and its type; or None once
        a type mistake, or a constant part that always fails, is reported."""
        type_problems: list = []
        amounts: set[int] = set()
        kinds = self.types.infer(compiled.tree, type_problems, amounts)
        if expect and "money" in expect[0] and "number" not in expect[0] and self.types.adapt(compiled.tree, MONEY, amounts):
            kinds = (kinds - NUMBER) | MONEY  # `{expression: 0}` for an amount: the number written is one
        if expect and not type_problems and "any" not in kinds and not (kinds & expect[0]):
            help_text = ("an amount times a number is one: `daily_fine * days_late`"
                         if "money" in expect[0] and kinds - NULL <= NUMBER else "")
            type_problems.append(TypeProblem(0, f"{expect[1]} must be {describe(expect[0])}, not {describe(kinds)}", help_text))
        for problem in type_problems:
            self.sink.add("type_error", problem.message, at(problem.offset), subject, problem.help)
        if type_problems:
            return None
        if amounts:  # the numbers written as amounts: kept with the expression (see `typecheck`)
            tree = compiled.tree
            compiled = dataclasses.replace(compiled, amounts=frozenset(amounts))
            compiled.__dict__["tree"] = tree  # already marked by the checker
        constant = constant_problems(compiled.tree)
        for problem in constant:
            self.sink.add(problem.code, problem.message, at(problem.offset), subject, problem.help)
        return None if constant else (compiled, kinds)

    def _condition_parts_boolean(self, tree: ast.expr, at, subject: str) -> bool:
        """A condition and each operand of its `and`, `or` and `not` must give true or false: a
        number or a text read as a condition is a mistake (derived values included)."""
        ok = True
        for part in _condition_parts(tree):
            if isinstance(part, ast.BoolOp) or (isinstance(part, ast.UnaryOp) and isinstance(part.op, ast.Not)):
                continue  # wrong only through one of its operands, which is said
            kinds = self.types.infer(part, [])
            wrong = kinds - NULL - BOOL
            if "any" in kinds or not wrong:
                continue
            if isinstance(part, ast.Name) and part.id in self.derived:
                message = f"derived value `{part.id}` is read as a condition, so it must give true or false, not {describe(wrong)}"
            else:
                message = f"a part of a condition must give true or false, not {describe(wrong)}"
            self.sink.add("type_error", message, at(part.col_offset), subject,
                          "compare it to make it true or false: `x > 0`, `x == 'value'`")
            ok = False
        return ok

    def _null_use(self, use, at, subject: str) -> None:
        where = at(use.node.col_offset)
        if use.name is None:
            self.sink.add("null_unguarded", f"this part may be null, and {use.operation} fails on null", where, subject,
                          "give it a value in every case")
            return
        said = (f"`{use.via}` reads `{use.name}`, which may be null" if use.via
                else f"`{use.name}` may be null here")
        self.sink.add("null_unguarded", f"{said}, and {use.operation} fails on null", where, subject,
                      f"guard it before: `{use.name} != None and ...` (or `{use.name} == None or ...`)")

    def _locator(self, text: Any, compiled: CompiledExpression | None, path: tuple):
        """Where an offset of an expression's text (as `ast` gives it) is in the file."""
        raw = str(text)
        lead = len(raw) - len(raw.lstrip())

        def at(offset: int) -> SourceLocation:
            # ast gives UTF-8 byte offsets; the file is read in characters.
            if compiled is not None:
                offset = len(compiled.text.encode()[:offset].decode(errors="ignore"))
            return self.map.locate(path) if "\n" in raw.strip() else self.map.locate_in_scalar(path, offset + lead)

        return at

    def _derived_tree(self, name: str) -> ast.expr | None:
        derived = self.derived.get(name)
        return derived.expression.tree if derived is not None else None

    def _name_type(self, name: str) -> Type:
        kind = self.kinds.get(name)
        if kind == "fact":
            return static_type(self.facts[name].type, self.facts[name].nullable)
        if kind == "output":
            return static_type(self.outputs[name].type, self.outputs[name].nullable)
        if kind == "parameter":
            return literal_type(self.parameters[name].value)
        if kind == "derived value":
            return self.derived_types.get(name, ANY)
        return ANY

    def _check_literals(self, node: ast.Compare, at, subject: str) -> bool:
        """Literals compared with a typed name must fit its type: `request == 'retrun'` is an error."""
        ok = True
        operands = [node.left, *node.comparators]
        for operation, left, right in zip(node.ops, operands, operands[1:]):
            for name_node, other in ((left, right), (right, left)):
                if not isinstance(name_node, ast.Name):
                    continue
                literals = [other] if isinstance(other, ast.Constant) else (
                    list(other.elts) if isinstance(other, (ast.List, ast.Tuple)) else [])
                output = self.outputs.get(name_node.id)
                if output is not None and output.collects and isinstance(other, ast.Constant) and isinstance(operation, (ast.Eq, ast.NotEq)):
                    self.sink.add("literal_type", f"`{name_node.id}` is a list, so it never equals `{other.value!r}`",
                                  at(other.col_offset), subject, f"write `{other.value!r} in {name_node.id}`")
                    ok = False
                    continue
                for literal in literals:
                    if isinstance(literal, ast.Constant):
                        problem = self._literal_problem(name_node.id, literal.value)
                        if problem:
                            message, help_text = problem
                            self.sink.add("literal_type", message, at(literal.col_offset), subject, help_text)
                            ok = False
        return ok

    def _literal_problem(self, name: str, value: Any) -> tuple[str, str] | None:
        fact = self.facts.get(name)
        output = self.outputs.get(name)
        if value is None:
            nullable = (fact.nullable if fact else output.nullable if output else True)
            if not nullable:
                return f"`{name}` is never null, so comparing it with `None` is always the same", "remove the comparison"
            return None
        kind = fact.type if fact else output.type if output else None
        values = fact.values if fact else output.values if output else ()
        if output is not None and value == output.undetermined:
            return (f"`{name}` is never `{value}` when a clause reads it: clauses read only decided outputs",
                    "test for the decided values instead")
        if kind in ("enum", "list"):
            if not _among(value, self.value_sets[name]):
                return (f"`{value!r}` is not a value of `{name}`",
                        did_you_mean(str(value), values) or f"values: {', '.join(values)}")
        elif kind in ("date", "datetime"):
            return f"`{name}` is a {kind}; compare it with `date('YYYY-MM-DD')` or a date function, not `{value!r}`", ""
        elif kind == "money" and isinstance(value, (int, float)) and not isinstance(value, bool):
            return None  # a number written beside an amount is an amount
        elif kind in VALUE_TYPES and not literal_type(value) & VALUE_TYPES[kind].static:
            return f"`{name}` is {VALUE_TYPES[kind].words}, not `{value!r}`", ""
        return None

    # -- graphs -------------------------------------------------------------------------------

    def _override_graph(self) -> dict[str, frozenset[str]]:
        """For each clause, the clauses that override it directly (`overrides: all` names every other one)."""
        ids = [c.id for c in self.clauses]
        index = {c["id"]: i for i, c in enumerate(self.data["clauses"]) if isinstance(c, dict) and "id" in c}
        known = [c.get("id") for c in self.data["clauses"] if isinstance(c, dict)]
        known_ids = set(known)  # looked up once per override: a list made chains of overrides quadratic
        overridden_by: dict[str, set[str]] = {cid: set() for cid in ids}
        targets: dict[str, list[str]] = {}
        for clause in self.clauses:
            if clause.overrides_all:
                targets[clause.id] = [cid for cid in ids if cid != clause.id]
                continue
            targets[clause.id] = []
            for position, target in enumerate(clause.overrides):
                path = ("clauses", index[clause.id], "overrides", position)
                if target == clause.id:
                    self.error("override_self", "a clause cannot override itself", path, clause.id)
                elif target == "all":
                    self.error("override_all", "`all` must be the only entry: write `overrides: all`", path, clause.id)
                elif target not in known_ids:
                    self.error("unknown_clause", f"overrides `{target}`, which is not a clause", path, clause.id,
                               did_you_mean(target, known))
                elif target in overridden_by:
                    targets[clause.id].append(target)
        for winner, losers in targets.items():
            for loser in losers:
                overridden_by[loser].add(winner)
        self._cycles(targets, lambda n: ("clauses", index[n], "overrides"), "override_cycle", "clause")
        return {cid: frozenset(winners) for cid, winners in overridden_by.items()}

    def _output_read_cycles(self, overridden_by: dict[str, frozenset[str]]) -> None:
        """Deciding output B needs every clause that sets B and every clause that overrides one of
        those; an output any of them reads must be decided first, and that must not loop."""
        reads: dict[str, set[str]] = {}
        for clause in self.clauses:
            names = set(clause.condition.names)
            for _, value in clause.sets:
                if value.expression:
                    names |= value.expression.names
            reads[clause.id] = {n for n in names if n in self.outputs}
        depends: dict[str, set[str]] = {name: set() for name in self.outputs}
        for clause in self.clauses:
            for output_name, _ in clause.sets:
                depends[output_name] |= reads[clause.id]
                for winner in overridden_by.get(clause.id, ()):
                    depends[output_name] |= reads[winner]
        self._cycles({k: sorted(v) for k, v in depends.items()}, lambda n: ("outputs", n), "output_cycle", "output")

    def _cycles(self, graph: dict[str, list[str]], path_of, code: str, what: str) -> None:
        for cycle in _cycles_in(graph):
            self.error(code, f"{what}s form a cycle: {' → '.join(f'`{c}`' for c in cycle)}", path_of(cycle[-1]), cycle[-1])

    def _writers(self) -> dict[str, list[tuple[Clause, OutputValue]]]:
        """For each output, the clauses that set it with their values, in clause order (in one pass:
        asking every clause about every output grew with outputs × clauses)."""
        writers: dict[str, list[tuple[Clause, OutputValue]]] = {name: [] for name in self.outputs}
        for clause in self.clauses:
            for name, value in clause.sets:
                writers[name].append((clause, value))
        return writers

    # -- the source text ----------------------------------------------------------------------

    def _legal(self, spec: dict | None, path: tuple, subject: str) -> LegalRef | None:
        """A legal citation, its `source` key resolved against the variant's `legal_sources`."""
        if spec is None:
            return None
        sources = self.data.get("_legal_sources") or {}
        act = sources.get(spec["source"])
        if act is None:
            self.error("unknown_legal_source", f"`{spec['source']}` is not one of the `legal_sources`", path + ("source",),
                       subject, did_you_mean(spec["source"], sources) or f"declared: {', '.join(sorted(sources)) or 'none'}")
            return None
        return LegalRef(act["act"], spec["article"], spec["quote"], act.get("url", ""), spec.get("confidence", "confirmed"))

    def _disabled(self) -> tuple[Disabled, ...]:
        result = []
        for entry in self.data.get("_disabled") or []:
            act = (self.data.get("_legal_sources") or {}).get(entry["legal"]["source"])
            legal = LegalRef(act["act"] if act else entry["legal"]["source"], entry["legal"]["article"],
                             entry["legal"]["quote"], act.get("url", "") if act else "", entry["legal"].get("confidence", "confirmed"))
            result.append(Disabled(entry["clause"], entry["variant"], entry["reason"], legal, entry.get("origin", "")))
        return tuple(result)

    def _source_ref(self, spec: dict | None, path: tuple, subject: str) -> SourceRef | None:
        if spec is None:
            return None
        raw = spec["quote"]
        texts = [raw] if isinstance(raw, str) else list(raw)
        quotes = []
        for i, text in enumerate(texts):
            quote_path = path + ("quote",) if isinstance(raw, str) else path + ("quote", i)
            quote = self._find_quote(text, quote_path, subject)
            if quote is not None:
                quotes.append(quote)
        if len(quotes) != len(texts):
            return None
        return SourceRef(spec["section"], tuple(quotes))

    def _find_quote(self, text: str, path: tuple, subject: str) -> Quote | None:
        if self.text is None:
            return None
        found = self.text.find(text)
        if found is None:
            hint = self.text.closest(text)
            window = self.data.get("_dated")
            which = f" in force from {window['from']} (`{self.source.file}`)" if window else ""
            self.error("quote_not_found", f"the quote is not in the source text{which}", path, subject,
                       f"closest text in the source: `{hint}`" if hint else "copy the sentence exactly from the source")
            return None
        if found == "ambiguous":
            self.error("quote_ambiguous", "the quote occurs more than once in the source text", path, subject,
                       "quote more of the sentence so that it points at one place")
            return None
        quote = found
        self.quotes_seen.append((quote, path))
        return quote

    def _informational(self) -> list[Informational]:
        result = []
        for i, item in enumerate(self.data.get("informational") or []):
            quote = self._find_quote(item["quote"], ("informational", i, "quote"), "informational")
            if quote is not None:
                result.append(Informational(quote, item["reason"]))
        return result

    def _sentence_coverage(self) -> None:
        # Checked on the base policy only: a variant may disable the clauses that quote a sentence.
        if self.text is None or self.sink or self.data.get("_variant"):
            return
        spans = [(q.start, q.end) for q, _ in self.quotes_seen]
        for sentence in _uncovered(self.text.sentences(), spans):
            self.sink.add(
                "sentence_not_covered",
                f"sentence {sentence.line}:{sentence.column} of the source is neither encoded nor informational: `{sentence.text}`",
                self.map.locate(("policy", "source", "file")), "coverage",
                "quote it in a clause, parameter or derived value, or list it under `informational` with a reason",
            )


_INVALID = object()


def _among(value: Any, values: frozenset) -> bool:
    """`value in values`, as it was for a tuple: something unhashable (a list where text belongs) is in no set."""
    try:
        return value in values
    except TypeError:
        return False


def _uncovered(sentences: list[Sentence], spans: list[tuple[int, int]]) -> list[Sentence]:
    """The sentences, in order, that no span (start, end) of quoted text overlaps.

    Spans are sorted once and each sentence bisects them, instead of trying every span against
    every sentence (quadratic when a long source is quoted by as many clauses).
    """
    starts: list[int] = []
    reach: list[int] = []  # the furthest end among the spans up to each one
    for start, end in sorted(spans):
        starts.append(start)
        reach.append(max(end, reach[-1]) if reach else end)
    uncovered = []
    for sentence in sentences:
        before_its_end = bisect.bisect_left(starts, sentence.end)
        if before_its_end == 0 or reach[before_its_end - 1] <= sentence.start:
            uncovered.append(sentence)
    return uncovered


def _cycles_in(graph: dict[str, list[str]]) -> list[list[str]]:
    """Each cycle met by a depth-first walk from each node in order, as `[a, b, ..., a]`; cycles
    through the same nodes are given once.

    A work list, not recursion, and one shared trail: a chain of overrides as long as the policy
    must neither overflow Python's stack nor copy the trail at every step.
    """
    state: dict[str, int] = {}  # 1 while on the trail, 2 once every successor is done
    cycles: list[list[str]] = []
    reported: set[frozenset] = set()
    for root in graph:
        if root in state:
            continue
        state[root] = 1
        trail, at = [root], {root: 0}
        successors = [iter(graph.get(root, ()))]
        while successors:
            nxt = next(successors[-1], None)
            if nxt is None:
                done = trail.pop()
                del at[done]
                state[done] = 2
                successors.pop()
            elif state.get(nxt) == 1:
                cycle = trail[at[nxt]:] + [nxt]
                if frozenset(cycle) not in reported:
                    reported.add(frozenset(cycle))
                    cycles.append(cycle)
            elif state.get(nxt) is None:
                state[nxt] = 1
                at[nxt] = len(trail)
                trail.append(nxt)
                successors.append(iter(graph.get(nxt, ())))
    return cycles


def _article(noun: str) -> str:
    return ("an " if noun[0] in "aeiou" else "a ") + noun


def _either(kinds: tuple[str, ...]) -> str:
    return kinds[0] if len(kinds) == 1 else ", ".join(kinds[:-1]) + " or " + kinds[-1]


def _written(value: Any) -> str:
    """A value out of range, for a message: very long numbers and texts by their size."""
    if isinstance(value, str):
        return f"(a text of {len(value)} characters)"
    if isinstance(value, int) and value.bit_length() > 128:
        return f"(a number of about {int(value.bit_length() * 0.30103) + 1} digits)"
    return f"`{value!r}`"


def _condition_parts(node: ast.expr):
    """A condition, and the operands of the `and`, `or` and `not` it is made of, each of which must
    be true or false."""
    yield node
    if isinstance(node, ast.BoolOp):
        for value in node.values:
            yield from _condition_parts(value)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        yield from _condition_parts(node.operand)


def _dependency_order(graph: dict[str, list[str]]) -> list[str]:
    """The nodes such that each comes after those it reads (Kahn's algorithm, without recursion);
    the nodes on a cycle, or that read one, are left out."""
    readers: dict[str, list[str]] = {name: [] for name in graph}
    waiting = {name: len(set(reads)) for name, reads in graph.items()}
    for name, reads in graph.items():
        for read in set(reads):
            readers[read].append(name)
    ready = [name for name, count in waiting.items() if count == 0]
    order = []
    while ready:
        name = ready.pop()
        order.append(name)
        for reader in readers[name]:
            waiting[reader] -= 1
            if waiting[reader] == 0:
                ready.append(reader)
    return order
