"""Verdict: policies as data, decided with a full trace.

Typical use::

    import engine
    policy_set = engine.load("aqara-returns")            # an id, or a policy file or folder
    decision = engine.evaluate(policy_set, {"request": "return", ...})
    decision.outputs["eligibility"].value                # "eligible"
    engine.decision_to_json(decision)                    # the bytes of `verdict eval --format json`

`evaluate` selects the regional variant and the dated version as `verdict eval` does. Everything
named in `__all__` is the public API; the submodules named there (`testing`, `report`, ...) are
public too, and imported on first use, so that `import engine` stays light.
"""

import importlib

from .api import BUNDLED_POLICIES as BUNDLED_POLICIES
from .api import POLICY_FILE as POLICY_FILE
from .api import PolicyEntry as PolicyEntry
from .api import case_from_facts as case_from_facts
from .api import decide as decide
from .api import decide_in_set as decide_in_set
from .api import discover as discover
from .api import evaluate as evaluate
from .api import load as load
from .api import load_case as load_case
from .api import load_policy as load_policy
from .api import list_policies as list_policies
from .api import load_policy_set as load_policy_set
from .api import policy_file as policy_file
from .api import policy_roots as policy_roots
from .api import require_policy as require_policy
from .api import require_policy_set as require_policy_set
from .api import resolve_policy as resolve_policy
from .cases import Case as Case
from .cases import apply_fact_texts as apply_fact_texts
from .cases import coerce_text as coerce_text
from .errors import CaseError as CaseError
from .errors import Diagnostic as Diagnostic
from .errors import EngineError as EngineError
from .errors import PolicyError as PolicyError
from .errors import SourceLocation as SourceLocation
from .errors import did_you_mean as did_you_mean
from .errors import one_line as one_line
from .errors import sorted_diagnostics as sorted_diagnostics
from .loader import MAX_DOCUMENT_BYTES as MAX_DOCUMENT_BYTES
from .loader import display_path as display_path
from .model import Decision as Decision
from .model import Policy as Policy
from .model import PolicySet as PolicySet
from .render import TRACE_LEVELS as TRACE_LEVELS
from .render import clause_to_text as clause_to_text
from .render import decision_to_brief_text as decision_to_brief_text
from .render import decision_to_dict as decision_to_dict
from .render import decision_to_json as decision_to_json
from .render import decision_to_text as decision_to_text
from .selection import Reference as Reference
from .selection import SelectionError as SelectionError
from .selection import check_date as check_date
from .selection import check_variant as check_variant
from .selection import in_force as in_force
from .selection import parse_reference as parse_reference
from .version import ENGINE_VERSION as ENGINE_VERSION

#: Public submodules, imported on first use (`engine.testing.run_file(...)`): each is one command's
#: engine (`testing`: verdict test; `impact`, `diff`, `report`, `release`, `audit`: replay and the
#: decision log's index; `decisionlog`; `coverage`; `explain`; `schema`; `cache`: the plan cache;
#: `conflicts`: the clause checks of verdict validate; `suggest`: cases for what the tests did not cover;
#: `jsontext`: JSON with amounts of money written with their two decimals; `cases`: case
#: files and their schema; `prove`, `prove_render`: verdict prove; `symbolic`: policies as solver terms;
#: `semdiff`: verdict diff --witness).
SUBMODULES = ("audit", "batch", "cache", "cases", "conflicts", "coverage", "decisionlog", "diff", "explain", "impact",
              "jsontext", "prove", "prove_render", "release", "report", "schema", "selection", "semdiff", "suggest",
              "symbolic", "testing", "validation")

__all__ = [
    "BUNDLED_POLICIES", "POLICY_FILE", "PolicyEntry", "case_from_facts", "decide", "decide_in_set", "discover",
    "evaluate", "list_policies", "load", "load_case", "load_policy", "load_policy_set", "policy_file", "policy_roots", "require_policy",
    "require_policy_set", "resolve_policy", "Case", "apply_fact_texts", "coerce_text", "CaseError", "Diagnostic",
    "EngineError", "PolicyError", "SourceLocation", "did_you_mean", "one_line", "sorted_diagnostics", "MAX_DOCUMENT_BYTES",
    "display_path", "Decision", "Policy", "PolicySet", "TRACE_LEVELS", "clause_to_text", "decision_to_brief_text",
    "decision_to_dict", "decision_to_json", "decision_to_text", "Reference", "SelectionError", "check_date",
    "check_variant", "in_force", "parse_reference", "ENGINE_VERSION", *SUBMODULES,
]


def __getattr__(name: str):
    if name in SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'engine' has no attribute {name!r}")
